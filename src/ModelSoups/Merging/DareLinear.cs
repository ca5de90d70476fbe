namespace ModelSoups.Merging;

/// <summary>DARE (Yu et al.): drop entries with probability 1 − density, rescale by 1/density, weighted sum.</summary>
public sealed class DareLinear : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "dare_linear";
    /// <inheritdoc/>
    public override string Description => "DARE (Yu et al.): drop entries with probability 1 − density, rescale by 1/density, weighted sum.";
    /// <inheritdoc/>
    protected override Sparsification Sparsify => Sparsification.Random;
    /// <inheritdoc/>
    protected override bool UsesTies => false;
}
