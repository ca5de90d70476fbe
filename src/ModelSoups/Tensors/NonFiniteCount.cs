using System.Numerics;
using System.Runtime.InteropServices;

namespace ModelSoups.Tensors;

/// <summary>
/// Counts NaN and ±Inf elements: an IEEE value is non-finite exactly when its exponent bits are all ones,
/// so the count is one mask-and-compare per element on the raw bits, vectorised (<see cref="Vector{T}"/>)
/// with a scalar tail. The merge runs it over every input block and every output block, so a merge that
/// overflows or spreads a NaN is caught without a second pass over the data.
/// </summary>
public static class NonFiniteCount
{
    /// <summary>Non-finite elements in <paramref name="bytes"/> of float dtype <paramref name="type"/> (0 for non-float dtypes).</summary>
    public static long Count(DType type, ReadOnlySpan<byte> bytes) => type switch
    {
        DType.F32 => CountExponentAllOnes(MemoryMarshal.Cast<byte, uint>(bytes), 0x7F80_0000u),
        DType.F64 => CountExponentAllOnes(MemoryMarshal.Cast<byte, ulong>(bytes), 0x7FF0_0000_0000_0000ul),
        DType.F16 => CountExponentAllOnes(MemoryMarshal.Cast<byte, ushort>(bytes), (ushort)0x7C00),
        DType.BF16 => CountExponentAllOnes(MemoryMarshal.Cast<byte, ushort>(bytes), (ushort)0x7F80),
        // float8 e5m2 follows IEEE (exponent 11111); e4m3fn has no Inf and one NaN pattern per sign (S.1111.111).
        DType.F8_E5M2 => CountExponentAllOnes(bytes, (byte)0x7C),
        DType.F8_E4M3 => CountExponentAllOnes(bytes, (byte)0x7F),
        _ => 0,
    };

    /// <summary>Non-finite elements of a compute buffer (float or double).</summary>
    public static long Count<T>(ReadOnlySpan<T> values) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Count(DType.F32, MemoryMarshal.AsBytes(values));
        if (typeof(T) == typeof(double)) return Count(DType.F64, MemoryMarshal.AsBytes(values));
        long n = 0;
        foreach (var v in values) if (!T.IsFinite(v)) n++;
        return n;
    }

    /// <summary>True when element <paramref name="index"/> of <paramref name="bytes"/> (dtype <paramref name="type"/>) is non-finite.</summary>
    public static bool IsNonFinite(DType type, ReadOnlySpan<byte> bytes, int index)
    {
        int size = type.Size();
        return Count(type, bytes.Slice(index * size, size)) != 0;
    }

    static long CountExponentAllOnes<TBits>(ReadOnlySpan<TBits> bits, TBits mask) where TBits : unmanaged, IBinaryInteger<TBits>
    {
        long count = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && bits.Length >= Vector<TBits>.Count)
        {
            var m = new Vector<TBits>(mask);
            var vectors = MemoryMarshal.Cast<TBits, Vector<TBits>>(bits);
            foreach (var v in vectors)
            {
                // Non-finite values are rare: one compare per vector, lanes counted only when one hit.
                if (!Vector.EqualsAny(v & m, m)) continue;
                for (int l = 0; l < Vector<TBits>.Count; l++)
                    if ((v[l] & mask) == mask) count++;
            }
            i = vectors.Length * Vector<TBits>.Count;
        }
        for (; i < bits.Length; i++)
            if ((bits[i] & mask) == mask) count++;
        return count;
    }
}
