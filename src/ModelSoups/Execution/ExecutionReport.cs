namespace ModelSoups.Execution;

/// <summary>The outcome of every unit of a batch, in the order given.</summary>
/// <param name="Outcomes">One per unit.</param>
public sealed record ExecutionReport(IReadOnlyList<UnitOutcome> Outcomes)
{
    /// <summary>Units that ended without their result.</summary>
    public IReadOnlyList<UnitOutcome> Failed => Outcomes.Where(o => o.State == UnitState.Failed).ToList();

    /// <summary>Units still queued or running (left to Slurm by <c>--no-wait</c>).</summary>
    public IReadOnlyList<UnitOutcome> Pending => Outcomes.Where(o => o.State is UnitState.Queued or UnitState.Running or UnitState.Waiting).ToList();

    /// <summary>Throws <see cref="WorkSubmittedException"/> when units were left running, then
    /// <see cref="WorkFailedException"/> when any failed.</summary>
    public void ThrowUnlessAllDone(string rerunHint)
    {
        if (Pending.Count > 0) throw new WorkSubmittedException(Pending, rerunHint);
        if (Failed.Count > 0) throw new WorkFailedException(Failed);
    }
}
