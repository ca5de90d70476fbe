namespace ModelSoups.Merging;

/// <summary>
/// How a task vector τ = θ − θ₀ is sparsified before the task vectors are combined (mergekit
/// <c>sparsify.SparsificationMethod</c>, plus "none" for plain task arithmetic).
/// </summary>
public enum TaskVectorSparsification
{
    /// <summary>Keep every entry (task arithmetic).</summary>
    None,
    /// <summary>Keep the ⌊density·n⌋ largest magnitudes (TIES trim, PEFT magnitude_prune, mergekit <c>magnitude</c>).</summary>
    Magnitude,
    /// <summary>Keep each entry with probability density (DARE, mergekit <c>random</c>).</summary>
    Random,
    /// <summary>Drop the ⌊γ·n⌋ largest magnitudes, keep the next ⌊density·n⌋ (Breadcrumbs, mergekit <c>magnitude_outliers</c>).</summary>
    MagnitudeOutliers,
    /// <summary>Keep each entry with a probability that grows with its magnitude rank in its row (DELLA, mergekit <c>della_magprune</c>).</summary>
    DellaMagnitudeRanked,
}
