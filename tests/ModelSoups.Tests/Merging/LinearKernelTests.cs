namespace ModelSoups.Tests.Merging;

/// <summary>The vectorised f32 path of linear must give the bits of the plain scalar definition.</summary>
public sealed class LinearKernelTests
{
    static float Reference(float[][] models, double[] w, bool normalize, int j)
    {
        double acc = 0, sum = 0;
        for (int i = 0; i < models.Length; i++) { acc += w[i] * models[i][j]; sum += w[i]; }
        return (float)(acc / (normalize ? sum : 1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(1023)]
    [InlineData(1025)]
    [InlineData(3001)]
    public void Vector_path_equals_scalar_definition_bit_for_bit(int n)
    {
        var rng = new Random(n + 1);
        for (int k = 1; k <= 5; k++)
        {
            var models = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 20 - 10) * MathF.Pow(2, rng.Next(-20, 20))).ToArray()).ToArray();
            var w = Enumerable.Range(0, k).Select(_ => rng.NextDouble() * 3 + 0.1).ToArray();
            foreach (var normalize in new[] { true, false })
            {
                var got = MergeRunner.Run("linear", models, set: p => { for (int i = 0; i < k; i++) p.Set("weight", i, w[i]); p.Set("normalize", normalize); });
                for (int j = 0; j < n; j++) Assert.Equal(BitConverter.SingleToInt32Bits(Reference(models, w, normalize, j)), BitConverter.SingleToInt32Bits(got[j]));
            }
        }
    }

    [Fact]
    public void Overflow_and_nan_behave_like_the_scalar_casts()
    {
        float[][] models = [[float.MaxValue, float.NaN, float.PositiveInfinity, 1], [float.MaxValue, 1, 1, float.NegativeInfinity]];
        var got = MergeRunner.Run("linear", models, set: p => p.Set("normalize", false));
        Assert.Equal(float.PositiveInfinity, got[0]);   // 2·MaxValue overflows f32 on the way back
        Assert.True(float.IsNaN(got[1]));
        Assert.Equal(float.PositiveInfinity, got[2]);
        Assert.Equal(float.NegativeInfinity, got[3]);
    }
}
