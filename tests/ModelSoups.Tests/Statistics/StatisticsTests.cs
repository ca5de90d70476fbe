using ModelSoups.Statistics;

namespace ModelSoups.Tests.Statistics;

public class StatisticsTests
{
    // Golden values from the closed forms, evaluated in Python (math.comb, math.sqrt; z = 1.959963984540054):
    // Wilson(81, 100) = (0.72221154620935, 0.87485248490231); Wilson(950, 1000) = (0.93468617975575, 0.96186973760721);
    // Wilson(0, 10) = (0, 0.27753279986289); Wilson(10, 10) = (0.72246720013711, 1).
    [Theory]
    [InlineData(81, 100, 0.72221154620935, 0.87485248490231)]
    [InlineData(950, 1000, 0.93468617975575, 0.96186973760721)]
    [InlineData(0, 10, 0.0, 0.27753279986289)]
    [InlineData(10, 10, 0.72246720013711, 1.0)]
    public void Wilson_interval_matches_the_closed_form(int k, int n, double low, double high)
    {
        var (l, h) = WilsonInterval.Compute(k, n);
        Assert.Equal(low, l, 1e-12);
        Assert.Equal(high, h, 1e-12);
        Assert.Equal((l, h), WilsonInterval.ForAccuracy((double)k / n, n));
    }

    [Fact]
    public void Wilson_interval_contains_the_estimate_and_narrows_with_n()
    {
        for (int n = 1; n <= 200; n += 7)
            for (int k = 0; k <= n; k++)
            {
                var (l, h) = WilsonInterval.Compute(k, n);
                Assert.InRange((double)k / n, l - 1e-15, h + 1e-15);
            }
        var small = WilsonInterval.Compute(80, 100);
        var large = WilsonInterval.Compute(800, 1000);
        Assert.True(large.High - large.Low < small.High - small.Low);
        Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Compute(3, 2));
    }

    // Exact McNemar: 2·Σ_{i≤min(b,c)} C(b+c, i)/2^(b+c). b=10, c=2: 2·(1 + 12 + 66)/4096 = 0.03857421875.
    // b=0, c=7: 2/128 = 0.015625. b=30, c=12: 0.007915897334896727 (Python). b=c or no discordant example: 1.
    [Theory]
    [InlineData(10, 2, 0.03857421875)]
    [InlineData(2, 10, 0.03857421875)]
    [InlineData(0, 7, 0.015625)]
    [InlineData(30, 12, 0.007915897334896727)]
    [InlineData(5, 5, 1.0)]
    [InlineData(0, 0, 1.0)]
    public void McNemar_exact_p_values(int b, int c, double p) => Assert.Equal(p, McNemarTest.PValue(b, c), 1e-12);

    [Fact]
    public void McNemar_counts_only_discordant_examples_and_survives_large_counts()
    {
        bool[] a = [true, true, false, false, true, false];
        bool[] b = [true, false, true, false, false, false];
        Assert.Equal((2, 1), McNemarTest.Discordant(a, b));
        // 1500 vs 1500 discordant: symmetric, p = 1 (capped); 1600 vs 1400: 2·Σ_{i≤1400} C(3000, i)/2³⁰⁰⁰ =
        // 0.0002785639610392337 (Python, exact integers): no underflow although 2⁻³⁰⁰⁰ is below double's range.
        Assert.Equal(1.0, McNemarTest.PValue(1500, 1500));
        Assert.Equal(0.0002785639610392337, McNemarTest.PValue(1600, 1400), 1e-12);
        Assert.Throws<ArgumentException>(() => McNemarTest.Discordant(a, [true]));
    }
}
