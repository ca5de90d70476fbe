namespace ModelSoups.Execution;

/// <summary>How one unit ended in <see cref="IExecutor.Run"/>.</summary>
/// <param name="Unit">The unit.</param>
/// <param name="State"><see cref="UnitState.Done"/>, <see cref="UnitState.Failed"/>, or — with <c>--no-wait</c> —
/// <see cref="UnitState.Queued"/>/<see cref="UnitState.Running"/> for units left to Slurm.</param>
/// <param name="JobId">The job (or process) that ran it, when one did.</param>
/// <param name="Log">The file with its stderr (and stdout beside it), when it ran.</param>
/// <param name="ExitCode">The worker's exit code, when known.</param>
/// <param name="Reason">Why it failed (a Slurm state such as TIMEOUT, "exit code 1"), or null.</param>
/// <param name="Reused">True when its result existed before (nothing ran).</param>
public sealed record UnitOutcome(WorkUnit Unit, UnitState State, string? JobId = null, string? Log = null, int? ExitCode = null,
    string? Reason = null, bool Reused = false)
{
    /// <summary>One line for a failure report: id, job, reason, exit code, log.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (JobId is not null) parts.Add($"job {JobId}");
        if (Reason is not null) parts.Add(Reason);
        if (ExitCode is { } c && (Reason is null || !Reason.Contains("exit code", StringComparison.Ordinal))) parts.Add($"exit code {c}");
        if (Log is not null) parts.Add($"log {Log}");
        return $"{Unit.Id} ({string.Join(", ", parts)})";
    }
}
