namespace ModelSoups.Merging;

/// <summary>TIES (Yadav et al. 2023) as mergekit: trim each task vector to its top density, elect signs on the weighted vectors, mean of the agreeing entries weighted by the agreeing weights.</summary>
public sealed class Ties : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "ties";
    /// <inheritdoc/>
    public override string Description => "TIES (Yadav et al.): trim to top density, elect signs, disjoint mean of agreeing entries.";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.Magnitude;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => true;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => true;
    /// <inheritdoc/>
    protected override bool DefaultRescale => false;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => p.Choice("ties_variant") == "peft"
        ? "ties_variant peft: PEFT ties() / the TIES paper: election on the unweighted trimmed vectors, divided by the count of agreeing entries (normalize has no effect); mergekit's default differs."
        : "mergekit ties: magnitude top-k per tensor, sign election on the weighted vectors, divide by the agreeing weights when normalize (default true). Ties at the cut break by lower index (torch leaves them unspecified).";
}
