namespace ModelSoups.Statistics;

/// <summary>
/// McNemar's test of two classifiers on the same examples (McNemar 1947), exact form: only the discordant examples
/// count, b (A right, B wrong) and c (A wrong, B right); under "equally accurate" each discordant example is a fair
/// coin, so the two-sided p-value is 2·P(X ≤ min(b, c)) for X ~ Binomial(b + c, ½), capped at 1. The exact form suits
/// the small discordant counts of two soups of one sweep (the χ² approximation needs b + c ≳ 25).
/// </summary>
public static class McNemarTest
{
    /// <summary>The discordant counts of per-example correctness vectors (same examples, same order).</summary>
    public static (int B, int C) Discordant(IReadOnlyList<bool> aCorrect, IReadOnlyList<bool> bCorrect)
    {
        if (aCorrect.Count != bCorrect.Count) throw new ArgumentException($"{aCorrect.Count} and {bCorrect.Count} examples: the test needs the same examples", nameof(bCorrect));
        int b = 0, c = 0;
        for (int i = 0; i < aCorrect.Count; i++)
        {
            if (aCorrect[i] && !bCorrect[i]) b++;
            else if (!aCorrect[i] && bCorrect[i]) c++;
        }
        return (b, c);
    }

    /// <summary>The exact two-sided p-value for discordant counts <paramref name="b"/> and <paramref name="c"/>.</summary>
    public static double PValue(int b, int c)
    {
        if (b < 0 || c < 0) throw new ArgumentOutOfRangeException(nameof(b), "discordant counts cannot be negative");
        int n = b + c, k = Math.Min(b, c);
        if (n == 0) return 1;
        // Σ_{i≤k} C(n, i) / 2ⁿ in log space: terms t_0 = 2⁻ⁿ, t_{i+1} = t_i · (n − i)/(i + 1), so large n does not underflow.
        double logTerm = -n * Math.Log(2), tail = 0;
        for (int i = 0; i <= k; i++)
        {
            tail += Math.Exp(logTerm);
            logTerm += Math.Log((double)(n - i) / (i + 1));
        }
        return Math.Min(1, 2 * tail);
    }
}
