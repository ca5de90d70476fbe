namespace ModelSoups.Execution;

/// <summary>
/// Some units of work ended without their result (a worker exited non-zero, a Slurm job timed out): the message
/// names each with its job, reason, exit code and log. The others ran to the end first. The CLI prints it on one
/// line and exits with code 1; a rerun of the same command resubmits only these.
/// </summary>
public sealed class WorkFailedException : ModelSoupsException
{
    /// <summary>The failed units.</summary>
    public IReadOnlyList<UnitOutcome> Failures { get; }

    /// <summary>Names every failure.</summary>
    public WorkFailedException(IReadOnlyList<UnitOutcome> failures)
        : base($"{failures.Count} unit(s) failed: {string.Join("; ", failures.Select(f => f.Describe()))}; rerun the same command to resubmit them (finished units are kept).")
        => Failures = failures;
}
