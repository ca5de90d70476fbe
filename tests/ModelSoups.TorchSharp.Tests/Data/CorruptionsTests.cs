using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

public class CorruptionsTests
{
    const int C = 1, H = 6, W = 5;

    static float[] Image(ulong seed)
    {
        var rng = new SplitMix64(seed);
        return Enumerable.Range(0, C * H * W).Select(_ => (float)rng.NextDouble()).ToArray();
    }

    public static TheoryData<CorruptionKind> Kinds() => [.. Corruptions.All];

    [Theory, MemberData(nameof(Kinds))]
    public void Severity_zero_is_the_identity(CorruptionKind kind)
    {
        var x = Image(1);
        Assert.Equal(x, Corruptions.Apply(kind, 0, x, C, H, W, seed: 7));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void Outputs_are_deterministic_bounded_and_new(CorruptionKind kind)
    {
        var x = Image(2);
        var copy = x.ToArray();
        for (int s = 1; s <= Corruptions.MaxSeverity; s++)
        {
            var a = Corruptions.Apply(kind, s, x, C, H, W, seed: 3);
            var b = Corruptions.Apply(kind, s, x, C, H, W, seed: 3);
            Assert.Equal(a, b);
            Assert.Equal(x.Length, a.Length);
            Assert.All(a, v => Assert.InRange(v, 0f, 1f));
            Assert.NotEqual(x, a); // every kind changes this image at every severity ≥ 1
        }
        Assert.Equal(copy, x); // input untouched
    }

    [Fact]
    public void Noise_depends_on_the_seed_and_grows_with_severity()
    {
        var x = Enumerable.Repeat(0.5f, C * H * W).ToArray();
        Assert.NotEqual(Corruptions.Apply(CorruptionKind.GaussianNoise, 3, x, C, H, W, 1), Corruptions.Apply(CorruptionKind.GaussianNoise, 3, x, C, H, W, 2));
        double Spread(int s) => Corruptions.Apply(CorruptionKind.GaussianNoise, s, x, C, H, W, 1).Average(v => Math.Abs(v - 0.5));
        Assert.True(Spread(1) < Spread(3) && Spread(3) < Spread(5));
    }

    [Fact]
    public void Golden_values_of_inversion_contrast_and_blur()
    {
        float[] x = [0f, 0.25f, 1f, 0.75f];
        Assert.Equal(new[] { 1f, 0.75f, 0f, 0.25f }, Corruptions.Apply(CorruptionKind.Inversion, 1, x, 1, 2, 2, 0));
        // Contrast severity 3: factor 0.2 around the mean 0.5.
        var c = Corruptions.Apply(CorruptionKind.Contrast, 3, x, 1, 2, 2, 0);
        float[] expected = [0.4f, 0.45f, 0.6f, 0.55f];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], c[i], 6);
        // Blur keeps a constant image constant (normalised kernel, clamped edges).
        var flat = Enumerable.Repeat(0.3f, 25).ToArray();
        Assert.All(Corruptions.Apply(CorruptionKind.GaussianBlur, 5, flat, 1, 5, 5, 0), v => Assert.Equal(0.3f, v, 6));
    }

    [Fact]
    public void Rotation_keeps_the_centre_of_an_odd_image_and_moves_the_rest()
    {
        var x = new float[25];
        x[12] = 1f; // centre pixel
        var r = Corruptions.Apply(CorruptionKind.Rotation, 5, x, 1, 5, 5, 0);
        Assert.Equal(1f, r[12], 6);
        var bar = new float[25];
        for (int i = 0; i < 5; i++) bar[2 * 5 + i] = 1f; // horizontal bar through the centre
        var rb = Corruptions.Apply(CorruptionKind.Rotation, 5, bar, 1, 5, 5, 0);
        Assert.True(rb[0 * 5 + 0] + rb[4 * 5 + 4] + rb[0 * 5 + 4] + rb[4 * 5 + 0] > 0 || rb[2 * 5 + 0] < 1f);
    }

    [Fact]
    public void Datasets_are_corrupted_per_image_and_keep_labels()
    {
        var data = SyntheticImages.Create(10, 4);
        var noisy = Corruptions.Apply(CorruptionKind.GaussianNoise, 2, data, seed: 5);
        Assert.True(noisy.IsFloat);
        Assert.Equal(data.Labels, noisy.Labels);
        Assert.Equal(noisy.Values, Corruptions.Apply(CorruptionKind.GaussianNoise, 2, data, seed: 5).Values);
        var inverted = Corruptions.Apply(CorruptionKind.Inversion, 1, data, seed: 0);
        Assert.Equal(1f - data.Pixels[0] / 255f, inverted.Values![0], 6);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Corruptions.Apply(CorruptionKind.Contrast, 6, new float[4], 1, 2, 2, 0));
        Assert.Throws<ArgumentException>(() => Corruptions.Apply(CorruptionKind.Contrast, 1, new float[5], 1, 2, 2, 0));
        Assert.Equal("additive Gaussian noise σ = 0.18", Corruptions.Describe(CorruptionKind.GaussianNoise, 3));
    }
}
