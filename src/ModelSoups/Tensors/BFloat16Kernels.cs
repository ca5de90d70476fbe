using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelSoups.Tensors;

/// <summary>
/// bfloat16 ↔ float32 kernels. bf16 is the top half of an IEEE f32, so widening is a 16-bit shift
/// (exact) and narrowing rounds to nearest-even like PyTorch's <c>c10::BFloat16</c>
/// (<c>round_to_nearest_even</c>): NaN becomes the canonical quiet NaN 0x7FC0, overflow rounds to ±Inf.
/// </summary>
public static class BFloat16Kernels
{
    /// <summary>The bf16 bit pattern PyTorch writes for every NaN.</summary>
    public const ushort CanonicalNaN = 0x7FC0;

    /// <summary>Scalar bf16 → f32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Scalar f32 → bf16, round to nearest, ties to even; NaN → <see cref="CanonicalNaN"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u) return CanonicalNaN;
        // Adding 0x7FFF plus the lowest kept bit rounds half-way cases to the even neighbour;
        // a carry into the exponent correctly produces the next binade or ±Inf.
        return (ushort)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    }

    /// <summary>Widens bf16 values to f32. Lengths must match.</summary>
    public static void ToSingle(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException("Source and destination lengths differ.", nameof(dst));
        ref ushort s = ref MemoryMarshal.GetReference(src);
        ref uint d = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(dst));
        nuint n = (nuint)src.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= n; i += 32)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref s, i));
                Vector512.ShiftLeft(lo, 16).StoreUnsafe(ref d, i);
                Vector512.ShiftLeft(hi, 16).StoreUnsafe(ref d, i + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s, i));
                Vector256.ShiftLeft(lo, 16).StoreUnsafe(ref d, i);
                Vector256.ShiftLeft(hi, 16).StoreUnsafe(ref d, i + 8);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = (uint)Unsafe.Add(ref s, i) << 16;
    }

    /// <summary>Narrows f32 values to bf16 with round-to-nearest-even. Lengths must match.</summary>
    public static void FromSingle(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException("Source and destination lengths differ.", nameof(dst));
        ref uint s = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(src));
        ref ushort d = ref MemoryMarshal.GetReference(dst);
        nuint n = (nuint)src.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= n; i += 32)
                Vector512.Narrow(Round512(Vector512.LoadUnsafe(ref s, i)), Round512(Vector512.LoadUnsafe(ref s, i + 16))).StoreUnsafe(ref d, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
                Vector256.Narrow(Round256(Vector256.LoadUnsafe(ref s, i)), Round256(Vector256.LoadUnsafe(ref s, i + 8))).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = FromSingle(BitConverter.UInt32BitsToSingle(Unsafe.Add(ref s, i)));
    }

    // Same arithmetic as the scalar FromSingle, lane-wise; the result sits in the low 16 bits (also used by Kernels/FloatStorage).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<uint> Round512(Vector512<uint> u)
    {
        var rounded = Vector512.ShiftRightLogical(u + Vector512.Create(0x7FFFu) + (Vector512.ShiftRightLogical(u, 16) & Vector512<uint>.One), 16);
        var isNaN = Vector512.GreaterThan(u & Vector512.Create(0x7FFF_FFFFu), Vector512.Create(0x7F80_0000u));
        return Vector512.ConditionalSelect(isNaN, Vector512.Create((uint)CanonicalNaN), rounded);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<uint> Round256(Vector256<uint> u)
    {
        var rounded = Vector256.ShiftRightLogical(u + Vector256.Create(0x7FFFu) + (Vector256.ShiftRightLogical(u, 16) & Vector256<uint>.One), 16);
        var isNaN = Vector256.GreaterThan(u & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        return Vector256.ConditionalSelect(isNaN, Vector256.Create((uint)CanonicalNaN), rounded);
    }
}
