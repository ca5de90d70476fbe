namespace ModelSoups.Statistics;

/// <summary>
/// The Wilson score interval for a binomial proportion (Wilson 1927): the set of p for which the observed accuracy is
/// within z standard errors, √(p(1−p)/n), of p. Unlike the normal ("Wald") interval it stays inside [0, 1] and keeps
/// its coverage near 0 and 1, where classifier accuracies live.
/// </summary>
public static class WilsonInterval
{
    /// <summary>z of a two-sided 95 % interval (the 97.5 % normal quantile).</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The interval for <paramref name="successes"/> of <paramref name="n"/> trials (n ≥ 1), as fractions.</summary>
    public static (double Low, double High) Compute(int successes, int n, double z = Z95)
    {
        if (n < 1 || successes < 0 || successes > n) throw new ArgumentOutOfRangeException(nameof(successes), $"{successes} of {n} is not a count of successes");
        double p = (double)successes / n, z2 = z * z;
        double denominator = 1 + z2 / n;
        double center = (p + z2 / (2 * n)) / denominator;
        double half = z / denominator * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return (Math.Max(0, center - half), Math.Min(1, center + half));
    }

    /// <summary>The interval of an accuracy measured on <paramref name="n"/> examples (its count of correct ones is accuracy·n, rounded).</summary>
    public static (double Low, double High) ForAccuracy(double accuracy, int n, double z = Z95) =>
        Compute((int)Math.Round(accuracy * n), n, z);
}
