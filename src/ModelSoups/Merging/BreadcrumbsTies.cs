namespace ModelSoups.Merging;

/// <summary>Breadcrumbs masks, then TIES sign election on the weighted vectors (mergekit breadcrumbs_ties; no normalisation by default).</summary>
public sealed class BreadcrumbsTies : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "breadcrumbs_ties";
    /// <inheritdoc/>
    public override string Description => "Breadcrumbs masks, then TIES sign election and disjoint mean.";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.MagnitudeOutliers;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => true;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => false;
    /// <inheritdoc/>
    protected override bool DefaultRescale => false;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => BreadcrumbsNote(p, "sign election on the weighted vectors");
}
