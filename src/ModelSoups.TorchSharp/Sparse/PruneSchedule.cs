namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// How much to prune per phase (Zimmer et al. 2024, after Han et al. 2015's iterative magnitude pruning): to reach a
/// goal sparsity S in T prune–retrain phases, each phase removes the fraction q = 1 − (1 − S)^(1/T) of the weights
/// still present, so after phase p the sparsity is 1 − (1 − q)^p and after phase T exactly S. Pure.
/// </summary>
public static class PruneSchedule
{
    /// <summary>q = 1 − (1 − S)^(1/T), the fraction of the remaining weights each phase prunes.</summary>
    public static double PhaseFraction(double sparsity, int phases)
    {
        Check(sparsity, phases);
        return 1 - Math.Pow(1 - sparsity, 1.0 / phases);
    }

    /// <summary>The sparsity after phase <paramref name="phase"/> (1-based): 1 − (1 − q)^p; exactly S at p = T.</summary>
    public static double SparsityAfter(double sparsity, int phases, int phase)
    {
        Check(sparsity, phases);
        if (phase < 0 || phase > phases) throw new ArgumentOutOfRangeException(nameof(phase), $"phase {phase} is not in 0..{phases}");
        if (phase == phases) return sparsity;   // no rounding drift in the goal itself
        return 1 - Math.Pow(1 - PhaseFraction(sparsity, phases), phase);
    }

    /// <summary>Weights to be zero among <paramref name="count"/> at sparsity <paramref name="sparsity"/>: round(s·n), halves away from zero.</summary>
    public static long ZeroCount(long count, double sparsity) =>
        (long)Math.Round(sparsity * count, MidpointRounding.AwayFromZero);

    static void Check(double sparsity, int phases)
    {
        if (!(sparsity >= 0 && sparsity < 1)) throw new ModelSoupsException($"the sparsity must be in [0, 1), not {sparsity}");
        if (phases < 1) throw new ModelSoupsException($"at least one phase is needed, not {phases}");
    }
}
