namespace ModelSoups.Merging;

/// <summary>Model Breadcrumbs (Davari, Belilovsky): drop the gamma outliers, keep the next density fraction, weighted sum.</summary>
public sealed class Breadcrumbs : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "breadcrumbs";
    /// <inheritdoc/>
    public override string Description => "Model Breadcrumbs (Davari, Belilovsky): drop the gamma outliers, keep the next density fraction, weighted sum.";
    /// <inheritdoc/>
    protected override Sparsification Sparsify => Sparsification.MagnitudeOutliers;
    /// <inheritdoc/>
    protected override bool UsesTies => false;
}
