using ModelSoups.Tensors;
using ModelSoups.Tensors.Kernels;

namespace ModelSoups.Tests.Tensors.Kernels;

/// <summary>
/// Every weighted-sum kernel against a one-line scalar reference, bit for bit, at lengths that exercise each
/// vector width's loop and the scalar tail (0..70 covers every remainder of 32 lanes; 4099 a long run).
/// </summary>
public class WeightedSumTests
{
    public static TheoryData<int> Lengths => new() { 0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 70, 4099 };

    /// <summary>Values over many magnitudes, both signs, signed zeros, subnormals and one infinity.</summary>
    static float[] Floats(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (i % 29) switch
            {
                5 => -0.0f,
                11 => 1e-40f,                     // f32 subnormal
                23 => float.PositiveInfinity,
                _ => (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-30, 30))),
            };
        return x;
    }

    static void Same<T>(T[] expected, T[] actual) where T : struct
    {
        var e = System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected.AsSpan()).ToArray();
        var a = System.Runtime.InteropServices.MemoryMarshal.AsBytes(actual.AsSpan()).ToArray();
        Assert.Equal(e, a);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void F32_into_f64_matches_the_scalar_reference(int n)
    {
        var x = Floats(n, 1);
        var acc = Floats(n, 2).Select(v => (double)v * 3.7).ToArray();
        var expected = acc.Select((a, i) => a + 0.3 * x[i]).ToArray();
        WeightedSum.AddScaled(x, 0.3, acc);
        Same(expected, acc);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void F64_into_f64_matches_the_scalar_reference(int n)
    {
        var x = Floats(n, 3).Select(v => v * 1.1).ToArray();
        var acc = Floats(n, 4).Select(v => (double)v).ToArray();
        var expected = acc.Select((a, i) => a + -2.5 * x[i]).ToArray();
        WeightedSum.AddScaled(x, -2.5, acc);
        Same(expected, acc);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void F32_into_f32_matches_the_scalar_reference(int n)
    {
        var x = Floats(n, 5);
        var acc = Floats(n, 6);
        var expected = acc.Select((a, i) => a + 0.7f * x[i]).ToArray();
        WeightedSum.AddScaled(x, 0.7f, acc);
        Same(expected, acc);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void BF16_into_f32_matches_the_scalar_reference(int n)
    {
        var x = Floats(n, 7).Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray();
        var acc = Floats(n, 8);
        // Reference: widen (bf16 is the top half of an f32), multiply, add.
        var expected = acc.Select((a, i) => a + 1.5f * BitConverter.Int32BitsToSingle(x[i] << 16)).ToArray();
        WeightedSum.AddScaledBFloat16(x, 1.5f, acc);
        Same(expected, acc);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Divisions_match_the_scalar_reference(int n)
    {
        var accD = Floats(n, 9).Select(v => v * 3.0).ToArray();
        var accF = Floats(n, 10);

        var f = new float[n];
        WeightedSum.Divide(accD, 3.0, f);
        Same(accD.Select(a => (float)(a / 3.0)).ToArray(), f);

        var d = new double[n];
        WeightedSum.Divide(accD, 7.0, d);
        Same(accD.Select(a => a / 7.0).ToArray(), d);

        var g = new float[n];
        WeightedSum.Divide(accF, 3f, g);
        Same(accF.Select(a => a / 3f).ToArray(), g);
    }

    [Fact]
    public void Golden_values()
    {
        // 1 + 0.5·2 = 2 and 4 + 0.5·(−6) = 1, exactly; then (2, 1) / 4 = (0.5, 0.25).
        double[] acc = [1, 4];
        WeightedSum.AddScaled([2f, -6f], 0.5, acc);
        Assert.Equal([2.0, 1.0], acc);
        var o = new float[2];
        WeightedSum.Divide(acc, 4.0, o);
        Assert.Equal([0.5f, 0.25f], o);
        // bf16 0x3FC0 is 1.5: 0 + 2·1.5 = 3.
        float[] f = [0f];
        WeightedSum.AddScaledBFloat16([0x3FC0], 2f, f);
        Assert.Equal(3f, f[0]);
    }

    [Fact]
    public void Mismatched_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => WeightedSum.AddScaled(new float[3], 1.0, new double[2]));
        Assert.Throws<ArgumentException>(() => WeightedSum.Divide(new double[3], 1.0, new float[4]));
    }
}
