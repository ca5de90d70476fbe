namespace ModelSoups.Merging;

/// <summary>DELLA (Deep et al. 2024) as mergekit della_linear: magnitude-ranked drop probabilities per row, L1-norm-preserving rescale, weighted sum.</summary>
public sealed class DellaLinear : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "della_linear";
    /// <inheritdoc/>
    public override string Description => "DELLA: magnitude-ranked random drop (density ± epsilon), rescale, weighted sum.";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.DellaMagnitudeRanked;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => false;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => false;
    /// <inheritdoc/>
    protected override bool DefaultRescale => true;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => DellaNote(p, "weighted sum");
}
