namespace ModelSoups.Merging;

/// <summary>DARE (Yu et al. 2024) then TIES, as mergekit: random drop with probability 1 − density, L1-norm-preserving rescale, sign election on the weighted vectors; no normalisation by default.</summary>
public sealed class DareTies : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "dare_ties";
    /// <inheritdoc/>
    public override string Description => "DARE random drop and rescale, then TIES sign election and disjoint mean.";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.Random;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => true;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => false;
    /// <inheritdoc/>
    protected override bool DefaultRescale => true;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => "mergekit dare_ties: Bernoulli(density) masks from our counter-based seeded stream (same distribution as torch.bernoulli, not its numbers), "
        + (p.Flag("rescale") ? (p.Choice("rescale_by") == "l1" ? "L1-norm rescale (mergekit)" : "survivors / density (DARE paper)") : "no rescale")
        + ", sign election on the weighted vectors" + (p.Choice("ties_variant") == "peft" ? " (ties_variant peft: unweighted, divided by the agreeing count)" : "") + ".";
}
