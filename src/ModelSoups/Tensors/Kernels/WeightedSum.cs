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
/// Each kernel skips tiered compilation: a merge calls it a few thousand times on long spans, so a tier-0
/// (unoptimised) first version would run a large share of the work.
/// </summary>
public static class WeightedSum
{
    /// <summary><c>acc[i] += weight × (double)x[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 vector loop
    public static void AddScaled(ReadOnlySpan<float> x, double weight, Span<double> acc)
    {
        CheckLengths(x.Length, acc.Length);
        ref float s = ref MemoryMarshal.GetReference(x);
        ref double a = ref MemoryMarshal.GetReference(acc);
        nuint n = (nuint)x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var w = Vector512.Create(weight);
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref s, i));
                (Vector512.LoadUnsafe(ref a, i) + w * lo).StoreUnsafe(ref a, i);
                (Vector512.LoadUnsafe(ref a, i + 8) + w * hi).StoreUnsafe(ref a, i + 8);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var w = Vector256.Create(weight);
            for (; i + 8 <= n; i += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s, i));
                (Vector256.LoadUnsafe(ref a, i) + w * lo).StoreUnsafe(ref a, i);
                (Vector256.LoadUnsafe(ref a, i + 4) + w * hi).StoreUnsafe(ref a, i + 4);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var w = Vector128.Create(weight);
            for (; i + 4 <= n; i += 4)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref s, i));
                (Vector128.LoadUnsafe(ref a, i) + w * lo).StoreUnsafe(ref a, i);
                (Vector128.LoadUnsafe(ref a, i + 2) + w * hi).StoreUnsafe(ref a, i + 2);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref a, i) += weight * Unsafe.Add(ref s, i);
    }

    /// <summary><c>acc[i] += weight × x[i]</c> in f64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 vector loop
    public static void AddScaled(ReadOnlySpan<double> x, double weight, Span<double> acc)
    {
        CheckLengths(x.Length, acc.Length);
        ref double s = ref MemoryMarshal.GetReference(x);
        ref double a = ref MemoryMarshal.GetReference(acc);
        nuint n = (nuint)x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var w = Vector512.Create(weight);
            for (; i + 8 <= n; i += 8) (Vector512.LoadUnsafe(ref a, i) + w * Vector512.LoadUnsafe(ref s, i)).StoreUnsafe(ref a, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var w = Vector256.Create(weight);
            for (; i + 4 <= n; i += 4) (Vector256.LoadUnsafe(ref a, i) + w * Vector256.LoadUnsafe(ref s, i)).StoreUnsafe(ref a, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var w = Vector128.Create(weight);
            for (; i + 2 <= n; i += 2) (Vector128.LoadUnsafe(ref a, i) + w * Vector128.LoadUnsafe(ref s, i)).StoreUnsafe(ref a, i);
        }
        for (; i < n; i++) Unsafe.Add(ref a, i) += weight * Unsafe.Add(ref s, i);
    }

    /// <summary><c>acc[i] += weight × x[i]</c> in f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 vector loop
    public static void AddScaled(ReadOnlySpan<float> x, float weight, Span<float> acc)
    {
        CheckLengths(x.Length, acc.Length);
        ref float s = ref MemoryMarshal.GetReference(x);
        ref float a = ref MemoryMarshal.GetReference(acc);
        nuint n = (nuint)x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var w = Vector512.Create(weight);
            for (; i + 16 <= n; i += 16) (Vector512.LoadUnsafe(ref a, i) + w * Vector512.LoadUnsafe(ref s, i)).StoreUnsafe(ref a, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var w = Vector256.Create(weight);
            for (; i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref a, i) + w * Vector256.LoadUnsafe(ref s, i)).StoreUnsafe(ref a, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var w = Vector128.Create(weight);
            for (; i + 4 <= n; i += 4) (Vector128.LoadUnsafe(ref a, i) + w * Vector128.LoadUnsafe(ref s, i)).StoreUnsafe(ref a, i);
        }
        for (; i < n; i++) Unsafe.Add(ref a, i) += weight * Unsafe.Add(ref s, i);
    }

    /// <summary>
    /// <c>acc[i] += weight × f32(x[i])</c> for bfloat16 bit patterns <paramref name="x"/>: the widening of
    /// <see cref="BFloat16Kernels.ToSingle(ReadOnlySpan{ushort}, Span{float})"/> fused into the sum, so the
    /// inputs are read once and never stored as f32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 vector loop
    public static void AddScaledBFloat16(ReadOnlySpan<ushort> x, float weight, Span<float> acc)
    {
        CheckLengths(x.Length, acc.Length);
        ref ushort s = ref MemoryMarshal.GetReference(x);
        ref float a = ref MemoryMarshal.GetReference(acc);
        nuint n = (nuint)x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var w = Vector512.Create(weight);
            for (; i + 32 <= n; i += 32)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref s, i));
                (Vector512.LoadUnsafe(ref a, i) + w * Vector512.ShiftLeft(lo, 16).AsSingle()).StoreUnsafe(ref a, i);
                (Vector512.LoadUnsafe(ref a, i + 16) + w * Vector512.ShiftLeft(hi, 16).AsSingle()).StoreUnsafe(ref a, i + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var w = Vector256.Create(weight);
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s, i));
                (Vector256.LoadUnsafe(ref a, i) + w * Vector256.ShiftLeft(lo, 16).AsSingle()).StoreUnsafe(ref a, i);
                (Vector256.LoadUnsafe(ref a, i + 8) + w * Vector256.ShiftLeft(hi, 16).AsSingle()).StoreUnsafe(ref a, i + 8);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var w = Vector128.Create(weight);
            for (; i + 8 <= n; i += 8)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref s, i));
                (Vector128.LoadUnsafe(ref a, i) + w * Vector128.ShiftLeft(lo, 16).AsSingle()).StoreUnsafe(ref a, i);
                (Vector128.LoadUnsafe(ref a, i + 4) + w * Vector128.ShiftLeft(hi, 16).AsSingle()).StoreUnsafe(ref a, i + 4);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref a, i) += weight * BFloat16Kernels.ToSingle(Unsafe.Add(ref s, i));
    }

    /// <summary><c>output[i] = (float)(acc[i] / divisor)</c>: divide in f64, round once to f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 vector loop
    public static void Divide(ReadOnlySpan<double> acc, double divisor, Span<float> output)
    {
        CheckLengths(acc.Length, output.Length);
        ref double a = ref MemoryMarshal.GetReference(acc);
        ref float o = ref MemoryMarshal.GetReference(output);
        nuint n = (nuint)acc.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var d = Vector512.Create(divisor);
            for (; i + 16 <= n; i += 16)
                Vector512.Narrow(Vector512.LoadUnsafe(ref a, i) / d, Vector512.LoadUnsafe(ref a, i + 8) / d).StoreUnsafe(ref o, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(divisor);
            for (; i + 8 <= n; i += 8)
                Vector256.Narrow(Vector256.LoadUnsafe(ref a, i) / d, Vector256.LoadUnsafe(ref a, i + 4) / d).StoreUnsafe(ref o, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var d = Vector128.Create(divisor);
            for (; i + 4 <= n; i += 4)
                Vector128.Narrow(Vector128.LoadUnsafe(ref a, i) / d, Vector128.LoadUnsafe(ref a, i + 2) / d).StoreUnsafe(ref o, i);
        }
        for (; i < n; i++) Unsafe.Add(ref o, i) = (float)(Unsafe.Add(ref a, i) / divisor);
    }

    /// <summary><c>output[i] = acc[i] / divisor</c> in f64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 vector loop
    public static void Divide(ReadOnlySpan<double> acc, double divisor, Span<double> output)
    {
        CheckLengths(acc.Length, output.Length);
        ref double a = ref MemoryMarshal.GetReference(acc);
        ref double o = ref MemoryMarshal.GetReference(output);
        nuint n = (nuint)acc.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var d = Vector512.Create(divisor);
            for (; i + 8 <= n; i += 8) (Vector512.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(divisor);
            for (; i + 4 <= n; i += 4) (Vector256.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var d = Vector128.Create(divisor);
            for (; i + 2 <= n; i += 2) (Vector128.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        }
        for (; i < n; i++) Unsafe.Add(ref o, i) = Unsafe.Add(ref a, i) / divisor;
    }

    /// <summary><c>output[i] = acc[i] / divisor</c> in f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 vector loop
    public static void Divide(ReadOnlySpan<float> acc, float divisor, Span<float> output)
    {
        CheckLengths(acc.Length, output.Length);
        ref float a = ref MemoryMarshal.GetReference(acc);
        ref float o = ref MemoryMarshal.GetReference(output);
        nuint n = (nuint)acc.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var d = Vector512.Create(divisor);
            for (; i + 16 <= n; i += 16) (Vector512.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(divisor);
            for (; i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var d = Vector128.Create(divisor);
            for (; i + 4 <= n; i += 4) (Vector128.LoadUnsafe(ref a, i) / d).StoreUnsafe(ref o, i);
        }
        for (; i < n; i++) Unsafe.Add(ref o, i) = Unsafe.Add(ref a, i) / divisor;
    }

    static void CheckLengths(int source, int destination)
    {
        if (source != destination) throw new ArgumentException("Source and destination lengths differ.");
    }
}
