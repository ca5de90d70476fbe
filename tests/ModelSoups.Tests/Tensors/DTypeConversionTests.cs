using System.Runtime.InteropServices;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Tensors;

public class DTypeConversionTests
{
    static float F(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    // bf16 RNE: the 16 dropped bits decide; exactly 0x8000 is a tie and goes to the even kept value.
    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1.0
    [InlineData(0x3F808000u, (ushort)0x3F80)] // tie, kept lsb 0 → stays (even)
    [InlineData(0x3F818000u, (ushort)0x3F82)] // tie, kept lsb 1 → rounds up to even
    [InlineData(0x3F808001u, (ushort)0x3F81)] // just above half → up
    [InlineData(0x3F807FFFu, (ushort)0x3F80)] // just below half → down
    [InlineData(0xBF818000u, (ushort)0xBF82)] // negative tie to even
    [InlineData(0x7F800000u, (ushort)0x7F80)] // +Inf
    [InlineData(0xFF800000u, (ushort)0xFF80)] // -Inf
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // f32 max overflows bf16 → +Inf
    [InlineData(0x7F7F0000u, (ushort)0x7F7F)] // bf16 max finite stays
    [InlineData(0x7F7F7FFFu, (ushort)0x7F7F)] // below half above bf16 max → max finite
    [InlineData(0x7F7F8000u, (ushort)0x7F80)] // tie above max finite (odd lsb) → Inf
    [InlineData(0x7FC00000u, (ushort)0x7FC0)] // quiet NaN
    [InlineData(0x7F800001u, (ushort)0x7FC0)] // signalling NaN with low payload stays NaN (not Inf)
    [InlineData(0xFFFFFFFFu, (ushort)0x7FC0)] // negative NaN → canonical like PyTorch
    [InlineData(0x00000001u, (ushort)0x0000)] // smallest f32 subnormal → 0
    [InlineData(0x00008000u, (ushort)0x0000)] // subnormal tie → even (0)
    [InlineData(0x00018000u, (ushort)0x0002)] // subnormal tie, odd → up
    [InlineData(0x80000000u, (ushort)0x8000)] // -0
    public void Bf16_from_f32_rounds_to_nearest_even(uint f32Bits, ushort expected)
    {
        Assert.Equal(expected, BFloat16Kernels.FromSingle(F(f32Bits)));
        // The same through the vectorised path: place it inside a long span at every lane position.
        var src = new float[67];
        for (int pos = 0; pos < src.Length; pos += 7)
        {
            Array.Fill(src, 1f);
            src[pos] = F(f32Bits);
            var bytes = new byte[src.Length * 2];
            DTypeConversion.FromSingle(src, DType.BF16, bytes);
            Assert.Equal(expected, BitConverter.ToUInt16(bytes, pos * 2));
        }
    }

    [Theory]
    [InlineData((ushort)0x3F80, 1.0f)]
    [InlineData((ushort)0xC040, -3.0f)]
    [InlineData((ushort)0x7F7F, 3.3895314e38f)]
    [InlineData((ushort)0x0001, 9.18355e-41f)]
    public void Bf16_to_f32_is_exact(ushort bits, float expected)
    {
        Assert.Equal(expected, BFloat16Kernels.ToSingle(bits));
    }

    [Fact]
    public void Bf16_to_f32_keeps_inf_and_nan_bits()
    {
        Assert.Equal(float.PositiveInfinity, BFloat16Kernels.ToSingle(0x7F80));
        Assert.Equal(float.NegativeInfinity, BFloat16Kernels.ToSingle(0xFF80));
        Assert.Equal(0x7FC10000u, BitConverter.SingleToUInt32Bits(BFloat16Kernels.ToSingle(0x7FC1)));
    }

    // f16 RNE: 13 dropped mantissa bits for normals; more for subnormals.
    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3C00)] // 1.0
    [InlineData(0x3F801000u, (ushort)0x3C00)] // tie (bit 12) with even lsb → stays
    [InlineData(0x3F803000u, (ushort)0x3C02)] // tie with odd lsb → up
    [InlineData(0x3F801001u, (ushort)0x3C01)] // above half → up
    [InlineData(0x477FE000u, (ushort)0x7BFF)] // 65504 max finite
    [InlineData(0x477FEFFFu, (ushort)0x7BFF)] // below the half-way to 65536 → max finite
    [InlineData(0x477FF000u, (ushort)0x7C00)] // 65520: tie → even = Inf
    [InlineData(0x47800000u, (ushort)0x7C00)] // 65536 overflow → Inf
    [InlineData(0xC7800000u, (ushort)0xFC00)] // -65536 → -Inf
    [InlineData(0x7F800000u, (ushort)0x7C00)] // Inf
    [InlineData(0x33800000u, (ushort)0x0001)] // 2^-24 smallest subnormal
    [InlineData(0x33000000u, (ushort)0x0000)] // 2^-25 tie between 0 and 2^-24 → 0 (even)
    [InlineData(0x33000001u, (ushort)0x0001)] // just above → smallest subnormal
    [InlineData(0x33C00000u, (ushort)0x0002)] // 1.5·2^-24 tie → 2 (even)
    [InlineData(0x387FE000u, (ushort)0x0400)] // 2^-14·(1-2^-11): tie between largest subnormal (odd) and smallest normal → normal
    [InlineData(0x387FC000u, (ushort)0x03FF)] // 1023·2^-24 largest subnormal, exact
    [InlineData(0x38800000u, (ushort)0x0400)] // 2^-14 smallest normal
    public void F16_from_f32_rounds_to_nearest_even(uint f32Bits, ushort expected)
    {
        var src = new float[45];
        for (int pos = 0; pos < src.Length; pos += 11)
        {
            Array.Fill(src, 1f);
            src[pos] = F(f32Bits);
            var bytes = new byte[src.Length * 2];
            DTypeConversion.FromSingle(src, DType.F16, bytes);
            Assert.Equal(expected, BitConverter.ToUInt16(bytes, pos * 2));
        }
    }

    [Fact]
    public void F16_nan_stays_quiet_nan()
    {
        var bytes = new byte[2 * 40];
        var src = Enumerable.Repeat(F(0x7F800001u), 40).ToArray(); // signalling NaN
        DTypeConversion.FromSingle(src, DType.F16, bytes);
        for (int i = 0; i < 40; i++)
        {
            ushort h = BitConverter.ToUInt16(bytes, i * 2);
            Assert.Equal(0x7C00, h & 0x7C00);
            Assert.NotEqual(0, h & 0x0200); // quiet bit set
        }
    }

    [Fact]
    public void F16_to_f32_subnormal_and_max()
    {
        var bytes = new byte[] { 0x01, 0x00, 0xFF, 0x7B, 0x00, 0xFC };
        var dst = new float[3];
        DTypeConversion.ToSingle(DType.F16, bytes, dst);
        Assert.Equal(MathF.ScaleB(1f, -24), dst[0]);
        Assert.Equal(65504f, dst[1]);
        Assert.Equal(float.NegativeInfinity, dst[2]);
    }

    // Independent reference: decode by the textbook formula with doubles.
    static double ReferenceF8(int b, int expBits, int manBits, bool fn)
    {
        int bias = (1 << (expBits - 1)) - 1;
        int s = b >> 7, e = (b >> manBits) & ((1 << expBits) - 1), m = b & ((1 << manBits) - 1);
        int maxE = (1 << expBits) - 1;
        double v;
        if (fn && e == maxE && m == (1 << manBits) - 1) return double.NaN;
        if (!fn && e == maxE) v = m == 0 ? double.PositiveInfinity : double.NaN;
        else if (e == 0) v = m * Math.Pow(2, 1 - bias - manBits);
        else v = (1 + m / Math.Pow(2, manBits)) * Math.Pow(2, e - bias);
        return s == 1 ? -v : v;
    }

    [Fact]
    public void F8_decoding_matches_formula_for_all_256_values()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var e4 = new float[256];
        var e5 = new float[256];
        DTypeConversion.ToSingle(DType.F8_E4M3, bytes, e4);
        DTypeConversion.ToSingle(DType.F8_E5M2, bytes, e5);
        for (int b = 0; b < 256; b++)
        {
            Assert.Equal(ReferenceF8(b, 4, 3, fn: true), (double)e4[b]);
            Assert.Equal(ReferenceF8(b, 5, 2, fn: false), (double)e5[b]);
        }
        Assert.Equal(448f, e4[0x7E]);
        Assert.True(float.IsNaN(e4[0x7F]) && float.IsNaN(e4[0xFF]));
        Assert.Equal(-448f, e4[0xFE]);
        Assert.Equal(MathF.ScaleB(1f, -9), e4[0x01]);
        Assert.Equal(57344f, e5[0x7B]);
        Assert.Equal(float.PositiveInfinity, e5[0x7C]);
        Assert.Equal(float.NegativeInfinity, e5[0xFC]);
        // E5M2 is the top byte of an f16: compare against Half as a second reference.
        for (int b = 0; b < 256; b++)
            Assert.Equal((float)BitConverter.UInt16BitsToHalf((ushort)(b << 8)), e5[b]);
    }

    [Fact]
    public void Vectorised_matches_scalar_reference_for_every_length_up_to_70()
    {
        var rng = new Random(1234);
        for (int n = 0; n <= 70; n++)
        {
            var f = new float[n];
            for (int i = 0; i < n; i++)
            {
                // Random bit patterns hit NaNs, infinities and subnormals too.
                f[i] = i % 3 == 0 ? BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)) : (float)(rng.NextDouble() * 200 - 100);
            }
            var bf = new byte[n * 2];
            DTypeConversion.FromSingle(f, DType.BF16, bf);
            var h = new byte[n * 2];
            DTypeConversion.FromSingle(f, DType.F16, h);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(ReferenceBf16(f[i]), BitConverter.ToUInt16(bf, i * 2));
                Assert.Equal(BitConverter.HalfToUInt16Bits((Half)f[i]), BitConverter.ToUInt16(h, i * 2));
            }
            var back = new float[n];
            DTypeConversion.ToSingle(DType.BF16, bf, back);
            for (int i = 0; i < n; i++)
                Assert.Equal((uint)BitConverter.ToUInt16(bf, i * 2) << 16, BitConverter.SingleToUInt32Bits(back[i]));
            DTypeConversion.ToSingle(DType.F16, h, back);
            for (int i = 0; i < n; i++)
                Assert.Equal(BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(h, i * 2))), BitConverter.SingleToUInt32Bits(back[i]));
        }
    }

    // Reference RNE by exact arithmetic on the two neighbours, independent of the bit trick.
    static ushort ReferenceBf16(float x)
    {
        if (float.IsNaN(x)) return 0x7FC0;
        uint u = BitConverter.SingleToUInt32Bits(x);
        uint down = u >> 16, rest = u & 0xFFFF;
        if (rest > 0x8000 || (rest == 0x8000 && (down & 1) == 1)) down++;
        return (ushort)down;
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F64)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void Round_trips_values_representable_in_the_target(DType t)
    {
        // Small integers and halves are exact in every float type.
        var values = Enumerable.Range(-40, 81).Select(i => i * 0.5f).ToArray();
        var bytes = new byte[values.Length * t.Size()];
        DTypeConversion.FromSingle(values, t, bytes);
        var back = new float[values.Length];
        DTypeConversion.ToSingle(t, bytes, back);
        Assert.Equal(values, back);
        var d = new double[values.Length];
        DTypeConversion.ToDouble(t, bytes, d);
        Assert.Equal(values.Select(v => (double)v), d);
        var bytes2 = new byte[bytes.Length];
        DTypeConversion.FromDouble(d, t, bytes2);
        Assert.Equal(bytes, bytes2);
    }

    [Fact]
    public void Double_to_bf16_goes_through_f32_like_pytorch()
    {
        // 1 + 2^-8 + 2^-30: as a double it is above the bf16 tie, but f32 rounds it to the tie
        // 1 + 2^-8 exactly, which then rounds to even (1.0). PyTorch gives 1.0 too.
        double x = 1 + Math.ScaleB(1, -8) + Math.ScaleB(1, -30);
        var bytes = new byte[2];
        DTypeConversion.FromDouble([x], DType.BF16, bytes);
        Assert.Equal(0x3F80, BitConverter.ToUInt16(bytes));
    }

    [Fact]
    public void F64_to_f32_rounds_once_to_nearest_even()
    {
        double tie = 1 + Math.ScaleB(1, -24); // half-way between 1 and 1+2^-23
        var bytes = new byte[8];
        DTypeConversion.FromDouble([tie, 1 + Math.ScaleB(1, -24) + Math.ScaleB(1, -40)], DType.F32, bytes);
        var f = MemoryMarshal.Cast<byte, float>(bytes);
        Assert.Equal(1f, f[0]);
        Assert.Equal(1 + MathF.ScaleB(1, -23), f[1]);
    }

    [Fact]
    public void Rejects_integer_types_wrong_lengths_and_writing_f8()
    {
        Assert.Throws<ArgumentException>(() => DTypeConversion.ToSingle(DType.I32, new byte[4], new float[1]));
        Assert.Throws<ArgumentException>(() => DTypeConversion.ToSingle(DType.BF16, new byte[3], new float[2]));
        Assert.Throws<ArgumentException>(() => DTypeConversion.FromSingle(new float[1], DType.F8_E4M3, new byte[1]));
    }

    [Fact]
    public void Generic_front_doors_dispatch_to_float_and_double()
    {
        byte[] bf = [0x80, 0x3F, 0x40, 0xC0]; // 1.0, -3.0
        var f = new float[2];
        var d = new double[2];
        DTypeConversion.ToCompute<float>(DType.BF16, bf, f);
        DTypeConversion.ToCompute<double>(DType.BF16, bf, d);
        Assert.Equal([1f, -3f], f);
        Assert.Equal([1.0, -3.0], d);
        var back = new byte[4];
        DTypeConversion.FromCompute<double>(d, DType.BF16, back);
        Assert.Equal(bf, back);
    }
}
