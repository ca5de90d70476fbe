namespace ModelSoups.Execution;

/// <summary>
/// With <c>--no-wait</c>: the units were submitted (or found still queued or running) and the command stops here
/// instead of waiting. Not an error: the CLI prints the job ids and how to continue, and exits 0. Thrown so that
/// whatever holds locks or scratch folders (a greedy run) unwinds normally.
/// </summary>
public sealed class WorkSubmittedException : Exception
{
    /// <summary>The units left queued or running.</summary>
    public IReadOnlyList<UnitOutcome> Pending { get; }

    /// <summary>What to run to continue.</summary>
    public string RerunHint { get; }

    /// <summary>Lists the units and their jobs.</summary>
    public WorkSubmittedException(IReadOnlyList<UnitOutcome> pending, string rerunHint)
        : base($"submitted without waiting: {string.Join(", ", pending.Select(p => p.JobId is null ? p.Unit.Id : $"{p.Unit.Id} (job {p.JobId})"))}; {rerunHint}")
    {
        Pending = pending;
        RerunHint = rerunHint;
    }
}
