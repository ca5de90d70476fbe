namespace ModelSoups.Execution;

/// <summary>Where a unit of work stands, as the progress display shows it.</summary>
public enum UnitState
{
    /// <summary>Not started or submitted yet.</summary>
    Waiting,
    /// <summary>Submitted, waiting for resources (Slurm PENDING).</summary>
    Queued,
    /// <summary>Running.</summary>
    Running,
    /// <summary>Its result file exists.</summary>
    Done,
    /// <summary>Ended without its result file.</summary>
    Failed,
}
