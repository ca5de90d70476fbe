namespace ModelSoups.Merging;

/// <summary>DARE drop-and-rescale, then TIES sign election and disjoint mean.</summary>
public sealed class DareTies : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "dare_ties";
    /// <inheritdoc/>
    public override string Description => "DARE drop-and-rescale, then TIES sign election and disjoint mean.";
    /// <inheritdoc/>
    protected override Sparsification Sparsify => Sparsification.Random;
    /// <inheritdoc/>
    protected override bool UsesTies => true;
}
