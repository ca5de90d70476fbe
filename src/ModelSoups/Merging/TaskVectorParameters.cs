namespace ModelSoups.Merging;

/// <summary>
/// The parameters of a task-vector method (<see cref="TaskVectorMerge"/>: task arithmetic, TIES, DARE, Breadcrumbs,
/// DELLA, each a choice of sparsification and consensus), typed and resolved for one tensor. Per-model lists have one
/// entry per input model (base excluded), in recipe order.
/// </summary>
/// <param name="Weights">w_i (<c>weight</c>).</param>
/// <param name="Densities">Fraction kept, or keep probability (<c>density</c>).</param>
/// <param name="Lambda">λ, the scale of the merged task vector (<c>lambda</c>).</param>
/// <param name="Normalize">Divide by the (agreeing) weights (<c>normalize</c>).</param>
/// <param name="Rescale">Rescale each sparsified task vector (<c>rescale</c>).</param>
/// <param name="Sparsification">How each task vector is sparsified (task arithmetic's <c>trim</c> resolved).</param>
/// <param name="RescaleByKeepProbability">Random and DELLA with rescale: divide survivors by their keep probability
/// (<c>rescale_by: keep_probability</c>) instead of keeping the L1 norm.</param>
/// <param name="Gammas">Outlier fractions (<c>gamma</c>; Breadcrumbs), else zeros.</param>
/// <param name="RowGranularity">Breadcrumbs counts per row (<c>granularity: row</c>) instead of per tensor.</param>
/// <param name="Epsilons">DELLA's probability spreads (<c>epsilon</c>), else zeros.</param>
/// <param name="ElectByCount">Sign election by the count of signs (<c>majority_sign_method: frequency</c>) instead of the sum.</param>
/// <param name="MergekitVariant">mergekit's consensus (weighted election, weight divisor) instead of PEFT's (<c>ties_variant</c>).</param>
public sealed record TaskVectorParameters(
    IReadOnlyList<double> Weights,
    IReadOnlyList<double> Densities,
    double Lambda,
    bool Normalize,
    bool Rescale,
    TaskVectorSparsification Sparsification,
    bool RescaleByKeepProbability,
    IReadOnlyList<double> Gammas,
    bool RowGranularity,
    IReadOnlyList<double> Epsilons,
    bool ElectByCount,
    bool MergekitVariant)
{
    /// <summary>Input models (base excluded).</summary>
    public int ModelCount => Weights.Count;

    /// <summary>Every density ≥ 1: mergekit's sparsifiers return the task vector untouched.</summary>
    public bool AllDense => Densities.All(d => d >= 1);

    /// <summary>Row-wise Breadcrumbs (the paper's code), which drops outliers even at density 1.</summary>
    public bool RowOutliers => Sparsification == TaskVectorSparsification.MagnitudeOutliers && RowGranularity;

    /// <summary>Random sparsification (DARE, DELLA): a seeded draw per element.</summary>
    public bool Randomised => Sparsification is TaskVectorSparsification.Random or TaskVectorSparsification.DellaMagnitudeRanked;

    /// <summary>The L1 rescale of mergekit (a first pass over the tensor for the norms).</summary>
    public bool RescaleL1 => Rescale && !(Randomised && RescaleByKeepProbability) && Sparsification != TaskVectorSparsification.None;
}
