namespace ModelSoups.Merging;

/// <summary>Task arithmetic (Ilharco et al.): θ₀ + λ Σ w_i τ_i, optionally trimmed to the top density fraction (PEFT magnitude_prune).</summary>
public sealed class TaskArithmetic : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "task_arithmetic";
    /// <inheritdoc/>
    public override string Description => "Task arithmetic (Ilharco et al.): θ₀ + λ Σ w_i τ_i, optionally trimmed to the top density fraction (PEFT magnitude_prune).";
    /// <inheritdoc/>
    protected override Sparsification Sparsify => Sparsification.Magnitude;
    /// <inheritdoc/>
    protected override bool UsesTies => false;
}
