namespace ModelSoups.Merging;

/// <summary>DELLA (Deep et al. 2024) as mergekit della: magnitude-ranked drop probabilities per row, L1-norm-preserving rescale, TIES sign election, divided by the agreeing weights.</summary>
public sealed class Della : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "della";
    /// <inheritdoc/>
    public override string Description => "DELLA: magnitude-ranked random drop (density ± epsilon), rescale, TIES sign election.";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.DellaMagnitudeRanked;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => true;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => true;
    /// <inheritdoc/>
    protected override bool DefaultRescale => true;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => DellaNote(p, "sign election on the weighted vectors, divided by the agreeing weights when normalize");
}
