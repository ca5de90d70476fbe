using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelSoups.Tensors.Kernels;

/// <summary>
/// How a kernel that computes in f32 reads and writes its values where they are stored as f32 or as bf16, so the
/// kernel is written once (generic over a struct implementing this, which the JIT specialises: no call, no branch)
/// and runs on the 16-bit bytes of a checkpoint without a converted copy. Reading bf16 is a 16-bit shift (exact,
/// NaN and ±Inf included); writing rounds to nearest even exactly as <see cref="BFloat16Kernels.FromSingle(float)"/>
/// (PyTorch's <c>c10::BFloat16</c>), so a kernel over bf16 storage gives the bits of the same kernel over the widened
/// f32 values followed by <see cref="BFloat16Kernels.FromSingle(ReadOnlySpan{float}, Span{ushort})"/>.
/// </summary>
/// <typeparam name="TValue">The stored element: <see cref="float"/>, or <see cref="ushort"/> holding bf16 bits.</typeparam>
internal unsafe interface IFloatStorage<TValue> where TValue : unmanaged
{
    /// <summary>16 values from <paramref name="p"/> as f32 lanes.</summary>
    static abstract Vector512<float> Load512(TValue* p);

    /// <summary>8 values from <paramref name="p"/> as f32 lanes.</summary>
    static abstract Vector256<float> Load256(TValue* p);

    /// <summary>One value as f32.</summary>
    static abstract float Load(TValue* p);

    /// <summary>Stores 16 f32 lanes at <paramref name="p"/>.</summary>
    static abstract void Store512(Vector512<float> v, TValue* p);

    /// <summary>Stores 8 f32 lanes at <paramref name="p"/>.</summary>
    static abstract void Store256(Vector256<float> v, TValue* p);

    /// <summary>Stores one f32 value at <paramref name="p"/>.</summary>
    static abstract void Store(float v, TValue* p);
}

/// <summary>Values stored as f32: loads and stores as they are.</summary>
internal readonly unsafe struct SingleStorage : IFloatStorage<float>
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load512(float* p) => Vector512.Load(p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load256(float* p) => Vector256.Load(p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store512(Vector512<float> v, float* p) => v.Store(p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store256(Vector256<float> v, float* p) => v.Store(p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float v, float* p) => *p = v;
}

/// <summary>Values stored as bf16 bits: widened on load (exact), rounded to nearest even on store.</summary>
internal readonly unsafe struct BFloat16Storage : IFloatStorage<ushort>
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(ushort* p) => Vector512.ShiftLeft(Vector512.WidenLower(Vector256.Load(p).ToVector512Unsafe()), 16).AsSingle();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(ushort* p) => Vector256.ShiftLeft(Vector256.WidenLower(Vector128.Load(p).ToVector256Unsafe()), 16).AsSingle();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ushort* p) => BFloat16Kernels.ToSingle(*p);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store512(Vector512<float> v, ushort* p)
    {
        var rounded = BFloat16Kernels.Round512(v.AsUInt32());
        // One vpmovdw where AVX-512 has it (the values fit 16 bits: truncating is exact).
        if (Avx512F.IsSupported) Avx512F.ConvertToVector256UInt16(rounded).Store(p);
        else Vector512.Narrow(rounded, rounded).GetLower().Store(p);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store256(Vector256<float> v, ushort* p)
    {
        var rounded = BFloat16Kernels.Round256(v.AsUInt32());
        Vector256.Narrow(rounded, rounded).GetLower().Store(p);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float v, ushort* p) => *p = BFloat16Kernels.FromSingle(v);
}
