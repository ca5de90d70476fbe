namespace ModelSoups.Execution;

/// <summary>What an executor reports while it runs a batch: every unit's state, and an occasional note
/// ("cancelled Slurm jobs 12, 13", "retrying run-002: NODE_FAIL").</summary>
/// <param name="Batch">The batch's name (e.g. <c>finetune</c>).</param>
/// <param name="Units">Every unit of the batch, in order.</param>
/// <param name="Note">A one-line event to show, or null.</param>
public sealed record ExecutionProgress(string Batch, IReadOnlyList<UnitStatus> Units, string? Note = null)
{
    /// <summary>How many units are in <paramref name="state"/>.</summary>
    public int Count(UnitState state) => Units.Count(u => u.State == state);
}
