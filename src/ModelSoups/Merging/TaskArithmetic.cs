namespace ModelSoups.Merging;

/// <summary>
/// Task arithmetic (Ilharco et al. 2023) as mergekit: θ₀ + λ Σ w_i τ_i, density ignored. <c>trim: true</c>
/// keeps the top density fraction of each task vector first (PEFT <c>magnitude_prune</c>; our earlier default).
/// </summary>
public sealed class TaskArithmetic : TaskVectorMerge
{
    /// <inheritdoc/>
    public override string Name => "task_arithmetic";
    /// <inheritdoc/>
    public override string Description => "Task arithmetic (Ilharco et al.): θ₀ + λ Σ w_i τ_i; trim: true first keeps the top density fraction (PEFT magnitude_prune).";
    /// <inheritdoc/>
    protected override TaskVectorSparsification Sparsification => TaskVectorSparsification.None;
    /// <inheritdoc/>
    protected override TaskVectorSparsification SparsificationFor(MergeParameters p) =>
        p.Flag("trim") ? TaskVectorSparsification.Magnitude : TaskVectorSparsification.None;
    /// <inheritdoc/>
    protected override bool UsesSignConsensus => false;
    /// <inheritdoc/>
    protected override bool DefaultNormalize => false;
    /// <inheritdoc/>
    protected override bool DefaultRescale => false;
    /// <inheritdoc/>
    protected override IEnumerable<MergeParameterDef> MoreParameters =>
        [new("trim", ParameterScope.Global, ParameterKind.Flag, false, "Keep only the top density fraction of each task vector (PEFT magnitude_prune); mergekit ignores density.")];
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => p.Flag("trim")
        ? "trim: true: PEFT magnitude_prune of each task vector to its top density (not mergekit, which ignores density), then mergekit task_arithmetic."
        : "mergekit task_arithmetic: θ₀ + λ Σ w_i τ_i (divided by Σ w_i when normalize); density is ignored, as in mergekit.";
}
