using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelSoups.Tensors.Kernels;

/// <summary>
/// The span kernels of a weighted mean, in the shape of <c>System.Numerics.Tensors.TensorPrimitives</c>:
/// <see cref="ReadOnlySpan{T}"/> in, <see cref="Span{T}"/> out, no allocation, a Vector512 / Vector256 /
/// Vector128 path (whichever the CPU accelerates, so ARM64 runs the 128-bit one) and a scalar tail.
/// Every vector lane computes exactly what the scalar tail computes — a multiply then an add, each rounded
/// (never a fused multiply-add), widening f32 → f64 exactly and narrowing f64 → f32 to nearest-even — so a
/// result does not depend on the vector width, the span's alignment or where a caller cuts its blocks.
/// Each kernel is a step type (what one step does at each vector width, and to one element) walked over the
/// spans by the one loop, <see cref="Run{TStep, TSource, TScalar, TDestination}"/>, as <c>TensorPrimitives</c>
/// composes its operators with one driver.
/// </summary>
public static class WeightedSum
{
    /// <summary><c>acc[i] += weight × (double)x[i]</c>.</summary>
    public static void AddScaled(ReadOnlySpan<float> x, double weight, Span<double> acc) =>
        Run<AddScaledWidened, float, double, double>(x, weight, acc);

    /// <summary><c>acc[i] += weight × x[i]</c> in f64.</summary>
    public static void AddScaled(ReadOnlySpan<double> x, double weight, Span<double> acc) =>
        Run<AddScaledStep<double>, double, double, double>(x, weight, acc);

    /// <summary><c>acc[i] += weight × x[i]</c> in f32.</summary>
    public static void AddScaled(ReadOnlySpan<float> x, float weight, Span<float> acc) =>
        Run<AddScaledStep<float>, float, float, float>(x, weight, acc);

    /// <summary>
    /// <c>acc[i] += weight × f32(x[i])</c> for bfloat16 bit patterns <paramref name="x"/>: the widening of
    /// <see cref="BFloat16Kernels.ToSingle(ReadOnlySpan{ushort}, Span{float})"/> fused into the sum, so the
    /// inputs are read once and never stored as f32.
    /// </summary>
    public static void AddScaledBFloat16(ReadOnlySpan<ushort> x, float weight, Span<float> acc) =>
        Run<AddScaledBFloat16Step, ushort, float, float>(x, weight, acc);

    /// <summary><c>output[i] = (float)(acc[i] / divisor)</c>: divide in f64, round once to f32.</summary>
    public static void Divide(ReadOnlySpan<double> acc, double divisor, Span<float> output) =>
        Run<DivideNarrowed, double, double, float>(acc, divisor, output);

    /// <summary><c>output[i] = acc[i] / divisor</c> in f64.</summary>
    public static void Divide(ReadOnlySpan<double> acc, double divisor, Span<double> output) =>
        Run<DivideStep<double>, double, double, double>(acc, divisor, output);

    /// <summary><c>output[i] = acc[i] / divisor</c> in f32.</summary>
    public static void Divide(ReadOnlySpan<float> acc, float divisor, Span<float> output) =>
        Run<DivideStep<float>, float, float, float>(acc, divisor, output);

    /// <summary>
    /// One element-wise kernel: <c>destination[i..] ∘= f(source[i..], scalar)</c> for one vector step at each width
    /// (a step covers one full vector of the narrower of the two element types) and for one element.
    /// </summary>
    interface IStep<TSource, TScalar, TDestination>
    {
        static abstract void Step(ref TSource source, Vector512<TScalar> scalar, ref TDestination destination, nuint i);
        static abstract void Step(ref TSource source, Vector256<TScalar> scalar, ref TDestination destination, nuint i);
        static abstract void Step(ref TSource source, Vector128<TScalar> scalar, ref TDestination destination, nuint i);
        static abstract void Step(ref TSource source, TScalar scalar, ref TDestination destination, nuint i);
    }

    /// <summary>
    /// The loop every kernel shares: 512-bit steps while they fit, then 256-bit, then 128-bit (each only where the
    /// CPU accelerates it), then the scalar tail. Fully optimised from the first call: a merge calls it a few
    /// thousand times on long spans, so a tier-0 (unoptimised) first version would run a large share of the work.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Run<TStep, TSource, TScalar, TDestination>(ReadOnlySpan<TSource> source, TScalar scalar, Span<TDestination> destination)
        where TStep : struct, IStep<TSource, TScalar, TDestination>
    {
        if (source.Length != destination.Length) throw new ArgumentException("Source and destination lengths differ.");
        ref TSource s = ref MemoryMarshal.GetReference(source);
        ref TDestination d = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length, i = 0;
        // Elements per 128 bits of the narrower type (f32 → f64: 4; bf16 → f32: 8); JIT-time constants.
        nuint lanes = (nuint)Math.Max(Vector128<TSource>.Count, Vector128<TDestination>.Count);
        if (Vector512.IsHardwareAccelerated)
            for (var v = Vector512.Create(scalar); i + 4 * lanes <= n; i += 4 * lanes) TStep.Step(ref s, v, ref d, i);
        if (Vector256.IsHardwareAccelerated)
            for (var v = Vector256.Create(scalar); i + 2 * lanes <= n; i += 2 * lanes) TStep.Step(ref s, v, ref d, i);
        if (Vector128.IsHardwareAccelerated)
            for (var v = Vector128.Create(scalar); i + lanes <= n; i += lanes) TStep.Step(ref s, v, ref d, i);
        for (; i < n; i++) TStep.Step(ref s, scalar, ref d, i);
    }

    /// <summary><c>acc += w × x</c>, both of one float type.</summary>
    readonly struct AddScaledStep<T> : IStep<T, T, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T x, Vector512<T> w, ref T a, nuint i) => Accumulate(ref a, i, w, Vector512.LoadUnsafe(ref x, i));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T x, Vector256<T> w, ref T a, nuint i) => Accumulate(ref a, i, w, Vector256.LoadUnsafe(ref x, i));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T x, Vector128<T> w, ref T a, nuint i) => Accumulate(ref a, i, w, Vector128.LoadUnsafe(ref x, i));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T x, T w, ref T a, nuint i) => Unsafe.Add(ref a, i) += w * Unsafe.Add(ref x, i);

        // acc[i..] += w × x for an x already in registers (also the halves of the widening kernels).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Accumulate(ref T a, nuint i, Vector512<T> w, Vector512<T> x) => (Vector512.LoadUnsafe(ref a, i) + w * x).StoreUnsafe(ref a, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Accumulate(ref T a, nuint i, Vector256<T> w, Vector256<T> x) => (Vector256.LoadUnsafe(ref a, i) + w * x).StoreUnsafe(ref a, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Accumulate(ref T a, nuint i, Vector128<T> w, Vector128<T> x) => (Vector128.LoadUnsafe(ref a, i) + w * x).StoreUnsafe(ref a, i);
    }

    /// <summary><c>output = acc / d</c>, both of one float type.</summary>
    readonly struct DivideStep<T> : IStep<T, T, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T a, Vector512<T> d, ref T o, nuint i) => (Vector512.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T a, Vector256<T> d, ref T o, nuint i) => (Vector256.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T a, Vector128<T> d, ref T o, nuint i) => (Vector128.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref T a, T d, ref T o, nuint i) => Unsafe.Add(ref o, i) = Unsafe.Add(ref a, i) / d;
    }

    /// <summary><c>output = (float)(acc / d)</c>: two f64 vectors divided, then narrowed into one f32 vector.</summary>
    readonly struct DivideNarrowed : IStep<double, double, float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref double a, Vector512<double> d, ref float o, nuint i) =>
            Vector512.Narrow(Vector512.LoadUnsafe(ref a, i) / d, Vector512.LoadUnsafe(ref a, i + (nuint)Vector512<double>.Count) / d).StoreUnsafe(ref o, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref double a, Vector256<double> d, ref float o, nuint i) =>
            Vector256.Narrow(Vector256.LoadUnsafe(ref a, i) / d, Vector256.LoadUnsafe(ref a, i + (nuint)Vector256<double>.Count) / d).StoreUnsafe(ref o, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref double a, Vector128<double> d, ref float o, nuint i) =>
            Vector128.Narrow(Vector128.LoadUnsafe(ref a, i) / d, Vector128.LoadUnsafe(ref a, i + (nuint)Vector128<double>.Count) / d).StoreUnsafe(ref o, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref double a, double d, ref float o, nuint i) => Unsafe.Add(ref o, i) = (float)(Unsafe.Add(ref a, i) / d);
    }

    /// <summary><c>acc += w × (double)x</c>: one f32 vector widened exactly into two f64 vectors.</summary>
    readonly struct AddScaledWidened : IStep<float, double, double>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref float x, Vector512<double> w, ref double a, nuint i)
        {
            var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
            AddScaledStep<double>.Accumulate(ref a, i, w, lo);
            AddScaledStep<double>.Accumulate(ref a, i + (nuint)Vector512<double>.Count, w, hi);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref float x, Vector256<double> w, ref double a, nuint i)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
            AddScaledStep<double>.Accumulate(ref a, i, w, lo);
            AddScaledStep<double>.Accumulate(ref a, i + (nuint)Vector256<double>.Count, w, hi);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref float x, Vector128<double> w, ref double a, nuint i)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
            AddScaledStep<double>.Accumulate(ref a, i, w, lo);
            AddScaledStep<double>.Accumulate(ref a, i + (nuint)Vector128<double>.Count, w, hi);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref float x, double w, ref double a, nuint i) => Unsafe.Add(ref a, i) += w * Unsafe.Add(ref x, i);
    }

    /// <summary><c>acc += w × f32(x)</c> for bf16 bits x: one u16 vector widened into two u32 vectors, shifted into f32 bits.</summary>
    readonly struct AddScaledBFloat16Step : IStep<ushort, float, float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref ushort x, Vector512<float> w, ref float a, nuint i)
        {
            var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
            AddScaledStep<float>.Accumulate(ref a, i, w, Vector512.ShiftLeft(lo, 16).AsSingle());
            AddScaledStep<float>.Accumulate(ref a, i + (nuint)Vector512<float>.Count, w, Vector512.ShiftLeft(hi, 16).AsSingle());
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref ushort x, Vector256<float> w, ref float a, nuint i)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
            AddScaledStep<float>.Accumulate(ref a, i, w, Vector256.ShiftLeft(lo, 16).AsSingle());
            AddScaledStep<float>.Accumulate(ref a, i + (nuint)Vector256<float>.Count, w, Vector256.ShiftLeft(hi, 16).AsSingle());
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref ushort x, Vector128<float> w, ref float a, nuint i)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
            AddScaledStep<float>.Accumulate(ref a, i, w, Vector128.ShiftLeft(lo, 16).AsSingle());
            AddScaledStep<float>.Accumulate(ref a, i + (nuint)Vector128<float>.Count, w, Vector128.ShiftLeft(hi, 16).AsSingle());
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref ushort x, float w, ref float a, nuint i) => Unsafe.Add(ref a, i) += w * BFloat16Kernels.ToSingle(Unsafe.Add(ref x, i));
    }
}
