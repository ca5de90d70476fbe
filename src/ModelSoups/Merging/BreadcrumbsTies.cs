namespace ModelSoups.Merging;

/// <summary>Breadcrumbs masks, then TIES sign election and disjoint mean.</summary>
public sealed class BreadcrumbsTies : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "breadcrumbs_ties";
    /// <inheritdoc/>
    public override string Description => "Breadcrumbs masks, then TIES sign election and disjoint mean.";
    /// <inheritdoc/>
    protected override Sparsification Sparsify => Sparsification.MagnitudeOutliers;
    /// <inheritdoc/>
    protected override bool UsesTies => true;
}
