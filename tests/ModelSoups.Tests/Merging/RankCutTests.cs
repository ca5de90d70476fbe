using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

public sealed class RankCutTests
{
    static float SortedReference(float[] a, long k) => a.OrderDescending().ElementAt((int)k);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(70001)]
    public void Radix_select_equals_sorting(int n)
    {
        var rng = new Random(n);
        // Magnitudes with many ties, zeros, subnormals, infinities and the -1 that stands for NaN.
        float[] pool = [0f, -1f, 1e-42f, float.Epsilon, 1f, 1f, 2.5f, float.PositiveInfinity, 3e38f];
        var a = Enumerable.Range(0, n).Select(_ => rng.Next(4) == 0 ? pool[rng.Next(pool.Length)] : (float)rng.NextDouble() * MathF.Pow(2, rng.Next(-30, 30))).ToArray();
        foreach (var k in new long[] { 0, n / 3, n / 2, n - 1 }.Distinct())
            Assert.Equal(SortedReference(a, k), RankCut<float>.SelectSingle(a, k));
    }

    [Fact]
    public void Radix_select_on_equal_values_and_negatives()
    {
        Assert.Equal(2f, RankCut<float>.SelectSingle([2f, 2f, 2f, 2f], 3));
        Assert.Equal(-1f, RankCut<float>.SelectSingle([-1f, 0f, 3f], 2));
        Assert.Equal(-0.5f, RankCut<float>.SelectSingle([-3f, -0.5f, -1f, 0f], 1));
    }
}
