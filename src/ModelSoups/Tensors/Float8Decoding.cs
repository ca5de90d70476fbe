namespace ModelSoups.Tensors;

/// <summary>
/// Decoding of the two 8-bit float formats safetensors stores (read-only in this toolkit), through
/// 256-entry tables built once from the format definitions (OCP FP8 spec; PyTorch
/// <c>float8_e4m3fn</c> / <c>float8_e5m2</c>).
/// </summary>
public static class Float8Decoding
{
    static readonly float[] E4M3Table = Build(E4M3Value);
    static readonly float[] E5M2Table = Build(E5M2Value);

    /// <summary>E4M3 "fn": bias 7, no infinities, NaN only at S.1111.111, largest finite 448.</summary>
    public static float E4M3ToSingle(byte bits) => E4M3Table[bits];

    /// <summary>E5M2: bias 15, IEEE-like (±Inf at exponent 31 with zero mantissa, NaN otherwise).</summary>
    public static float E5M2ToSingle(byte bits) => E5M2Table[bits];

    /// <summary>Decodes E4M3 bytes into f32. Lengths must match.</summary>
    public static void E4M3ToSingle(ReadOnlySpan<byte> src, Span<float> dst) => Lookup(E4M3Table, src, dst);

    /// <summary>Decodes E5M2 bytes into f32. Lengths must match.</summary>
    public static void E5M2ToSingle(ReadOnlySpan<byte> src, Span<float> dst) => Lookup(E5M2Table, src, dst);

    static void Lookup(float[] table, ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException("Source and destination lengths differ.", nameof(dst));
        for (int i = 0; i < src.Length; i++) dst[i] = table[src[i]];
    }

    static float[] Build(Func<int, float> decode)
    {
        var t = new float[256];
        for (int b = 0; b < 256; b++) t[b] = decode(b);
        return t;
    }

    static float E4M3Value(int b)
    {
        int sign = b >> 7, exp = (b >> 3) & 0xF, man = b & 0x7;
        if (exp == 0xF && man == 0x7) return float.NaN;
        float mag = exp == 0 ? man / 8f * MathF.ScaleB(1f, -6) : (1f + man / 8f) * MathF.ScaleB(1f, exp - 7);
        return sign == 1 ? -mag : mag;
    }

    static float E5M2Value(int b)
    {
        int sign = b >> 7, exp = (b >> 2) & 0x1F, man = b & 0x3;
        float mag;
        if (exp == 0x1F) mag = man == 0 ? float.PositiveInfinity : float.NaN;
        else mag = exp == 0 ? man / 4f * MathF.ScaleB(1f, -14) : (1f + man / 4f) * MathF.ScaleB(1f, exp - 15);
        return sign == 1 ? -mag : mag;
    }
}
