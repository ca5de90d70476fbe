namespace ModelSoups.Merging;

/// <summary>TIES (Yadav et al.): trim to top density, elect signs, disjoint mean of agreeing entries.</summary>
public sealed class Ties : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "ties";
    /// <inheritdoc/>
    public override string Description => "TIES (Yadav et al.): trim to top density, elect signs, disjoint mean of agreeing entries.";
    /// <inheritdoc/>
    protected override Sparsification Sparsify => Sparsification.Magnitude;
    /// <inheritdoc/>
    protected override bool UsesTies => true;
}
