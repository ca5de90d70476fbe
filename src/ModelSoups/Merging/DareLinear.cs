namespace ModelSoups.Merging;

/// <summary>DARE (Yu et al. 2024) as mergekit: random drop with probability 1 − density, L1-norm-preserving rescale, weighted sum.</summary>
public sealed class DareLinear : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "dare_linear";
    /// <inheritdoc/>
    public override string Description => "DARE random drop and rescale, weighted sum of the task vectors.";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.Random;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => false;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => false;
    /// <inheritdoc/>
    protected override bool DefaultRescale => true;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => "mergekit dare_linear: Bernoulli(density) masks from our counter-based seeded stream (same distribution as torch.bernoulli, not its numbers), "
        + (p.Flag("rescale") ? (p.Choice("rescale_by") == "l1" ? "L1-norm rescale (mergekit)" : "survivors / density (DARE paper)") : "no rescale") + ", weighted sum.";
}
