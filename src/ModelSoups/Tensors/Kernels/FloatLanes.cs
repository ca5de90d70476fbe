using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelSoups.Tensors.Kernels;

/// <summary>
/// The f32 lane operations a kernel needs, for one vector width (<see cref="FloatLanes512"/>, <see cref="FloatLanes256"/>),
/// so a kernel body is written once, generic over a struct implementing this (the JIT specialises and inlines it, as it
/// does <c>TensorPrimitives</c>' operator structs), and every width runs the same per-lane operations: a result does not
/// depend on the width. Loads and stores go through an <see cref="IFloatStorage{TValue}"/> (f32 or bf16 storage).
/// </summary>
/// <typeparam name="TVector">The vector of f32 lanes.</typeparam>
internal unsafe interface IFloatLanes<TVector> where TVector : unmanaged
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Every lane <paramref name="x"/>.</summary>
    static abstract TVector Create(float x);

    /// <summary><see cref="Count"/> stored values from <paramref name="p"/>.</summary>
    static abstract TVector Load<TValue, TStorage>(TValue* p) where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>;

    /// <summary>Stores the lanes at <paramref name="p"/>.</summary>
    static abstract void Store<TValue, TStorage>(TVector v, TValue* p) where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>;

    /// <summary>a + b.</summary>
    static abstract TVector Add(TVector a, TVector b);
    /// <summary>a − b.</summary>
    static abstract TVector Subtract(TVector a, TVector b);
    /// <summary>a · b (rounded; never fused with an add).</summary>
    static abstract TVector Multiply(TVector a, TVector b);
    /// <summary>a / b.</summary>
    static abstract TVector Divide(TVector a, TVector b);
    /// <summary>max(a, b).</summary>
    static abstract TVector Max(TVector a, TVector b);
    /// <summary>|a|.</summary>
    static abstract TVector Abs(TVector a);
    /// <summary>All-ones lanes where a &gt; b.</summary>
    static abstract TVector GreaterThan(TVector a, TVector b);
    /// <summary>All-ones lanes where a ≥ b.</summary>
    static abstract TVector GreaterThanOrEqual(TVector a, TVector b);
    /// <summary>All-ones lanes where a &lt; b.</summary>
    static abstract TVector LessThan(TVector a, TVector b);
    /// <summary>All-ones lanes where a ≤ b.</summary>
    static abstract TVector LessThanOrEqual(TVector a, TVector b);
    /// <summary>All-ones lanes where a = b.</summary>
    static abstract TVector Equal(TVector a, TVector b);
    /// <summary>a | b (masks).</summary>
    static abstract TVector Or(TVector a, TVector b);
    /// <summary>a &amp; b (masks).</summary>
    static abstract TVector And(TVector a, TVector b);
    /// <summary>Lanes of <paramref name="a"/> where <paramref name="mask"/> is set, else of <paramref name="b"/>.</summary>
    static abstract TVector Select(TVector mask, TVector a, TVector b);
    /// <summary>Bit l set when lane l of <paramref name="mask"/> is set.</summary>
    static abstract uint Bits(TVector mask);
    /// <summary>The mask whose lane l is set when bit l of <paramref name="bits"/> is (the inverse of <see cref="Bits"/>).</summary>
    static abstract TVector FromBits(uint bits);

    /// <summary>
    /// Stores the lanes of <paramref name="v"/> where <paramref name="mask"/> is set at <paramref name="dst"/>, packed, in
    /// lane order, without a branch per lane; returns how many. Up to <see cref="Count"/> floats at <paramref name="dst"/> may be written.
    /// </summary>
    static abstract int Compress(TVector v, TVector mask, float* dst);
}

/// <summary>16 f32 lanes (AVX-512).</summary>
internal readonly unsafe struct FloatLanes512 : IFloatLanes<Vector512<float>>
{
    /// <inheritdoc/>
    public static int Count => 16;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Create(float x) => Vector512.Create(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load<TValue, TStorage>(TValue* p) where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue> => TStorage.Load512(p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TValue, TStorage>(Vector512<float> v, TValue* p) where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue> => TStorage.Store512(v, p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> GreaterThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanOrEqual(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LessThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.LessThanOrEqual(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Equal(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Select(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static uint Bits(Vector512<float> mask) => (uint)Vector512.ExtractMostSignificantBits(mask);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FromBits(uint bits)
    {
        var lane = Vector512.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u);
        return Vector512.Equals(Vector512.Create(bits) & lane, lane).AsSingle();
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compress(Vector512<float> v, Vector512<float> mask, float* dst)
    {
        // vcompressps into a register, then one store (its memory form is slow on some CPUs).
        if (Avx512F.IsSupported)
        {
            Avx512F.Compress(Vector512<float>.Zero, mask, v).Store(dst);
            return BitOperations.PopCount(Bits(mask));
        }
        int c = FloatLanes256.Compress(v.GetLower(), mask.GetLower(), dst);
        return c + FloatLanes256.Compress(v.GetUpper(), mask.GetUpper(), dst + c);
    }
}

/// <summary>8 f32 lanes (AVX2).</summary>
internal readonly unsafe struct FloatLanes256 : IFloatLanes<Vector256<float>>
{
    /// <inheritdoc/>
    public static int Count => 8;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Create(float x) => Vector256.Create(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load<TValue, TStorage>(TValue* p) where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue> => TStorage.Load256(p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TValue, TStorage>(Vector256<float> v, TValue* p) where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue> => TStorage.Store256(v, p);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> GreaterThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanOrEqual(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LessThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.LessThanOrEqual(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Equal(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static uint Bits(Vector256<float> mask) => Vector256.ExtractMostSignificantBits(mask);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FromBits(uint bits)
    {
        var lane = Vector256.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u);
        return Vector256.Equals(Vector256.Create(bits) & lane, lane).AsSingle();
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compress(Vector256<float> v, Vector256<float> mask, float* dst)
    {
        // Every lane is written at the next free place, which advances only past the selected ones.
        uint bits = Bits(mask);
        int c = 0;
        dst[c] = v.GetElement(0); c += (int)(bits & 1);
        dst[c] = v.GetElement(1); c += (int)((bits >> 1) & 1);
        dst[c] = v.GetElement(2); c += (int)((bits >> 2) & 1);
        dst[c] = v.GetElement(3); c += (int)((bits >> 3) & 1);
        dst[c] = v.GetElement(4); c += (int)((bits >> 4) & 1);
        dst[c] = v.GetElement(5); c += (int)((bits >> 5) & 1);
        dst[c] = v.GetElement(6); c += (int)((bits >> 6) & 1);
        dst[c] = v.GetElement(7); c += (int)((bits >> 7) & 1);
        return c;
    }
}
