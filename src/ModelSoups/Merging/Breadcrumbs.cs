namespace ModelSoups.Merging;

/// <summary>Model Breadcrumbs (Davari, Belilovsky) as mergekit: drop the gamma largest magnitudes of the tensor, keep the next density fraction, weighted sum.</summary>
public sealed class Breadcrumbs : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "breadcrumbs";
    /// <inheritdoc/>
    public override string Description => "Model Breadcrumbs: drop the gamma outliers, keep the next density fraction, weighted sum.";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.MagnitudeOutliers;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => false;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => false;
    /// <inheritdoc/>
    protected override bool DefaultRescale => false;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => BreadcrumbsNote(p, "weighted sum");
}
