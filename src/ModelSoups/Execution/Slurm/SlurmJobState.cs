namespace ModelSoups.Execution.Slurm;

/// <summary>A Slurm job state as <c>squeue -o %T</c> and <c>sacct -o State</c> print it.</summary>
public enum SlurmJobState
{
    /// <summary>A state this build does not know; treated as still active so nothing is resubmitted on a guess.</summary>
    Unknown,
    /// <summary>Waiting for resources.</summary>
    Pending,
    /// <summary>Running (also CONFIGURING, COMPLETING, SUSPENDED, REQUEUED and the other transient states).</summary>
    Running,
    /// <summary>Exited 0.</summary>
    Completed,
    /// <summary>Exited non-zero.</summary>
    Failed,
    /// <summary>Cancelled by a user or an administrator (scancel).</summary>
    Cancelled,
    /// <summary>Ran past its time limit.</summary>
    Timeout,
    /// <summary>Killed for using more memory than it asked for.</summary>
    OutOfMemory,
    /// <summary>Its node failed.</summary>
    NodeFail,
    /// <summary>Preempted by a job of higher priority.</summary>
    Preempted,
    /// <summary>Its node failed to boot.</summary>
    BootFail,
    /// <summary>Passed its deadline before it could start.</summary>
    Deadline,
}

/// <summary>Parsing of Slurm's state names and the rule of what is retried.</summary>
public static class SlurmJobStates
{
    /// <summary>The state for a name such as <c>RUNNING</c>, <c>CANCELLED by 0</c> or <c>OUT_OF_MEMORY</c>.</summary>
    public static SlurmJobState Parse(string text)
    {
        // sacct prints "CANCELLED by UID"; squeue and sacct may add a '+' when the state was truncated.
        var word = text.Trim().Split(' ', 2)[0].TrimEnd('+').ToUpperInvariant();
        return word switch
        {
            "PENDING" or "PD" => SlurmJobState.Pending,
            "RUNNING" or "R" or "CONFIGURING" or "CF" or "COMPLETING" or "CG" or "SUSPENDED" or "S" or "REQUEUED" or "RQ"
                or "REQUEUE_HOLD" or "REQUEUE_FED" or "RESIZING" or "SIGNALING" or "STAGE_OUT" or "STOPPED" or "SPECIAL_EXIT"
                or "RESV_DEL_HOLD" or "POWER_UP_NODE" => SlurmJobState.Running,
            "COMPLETED" or "CD" => SlurmJobState.Completed,
            "FAILED" or "F" => SlurmJobState.Failed,
            "CANCELLED" or "CA" or "REVOKED" => SlurmJobState.Cancelled,
            "TIMEOUT" or "TO" => SlurmJobState.Timeout,
            "OUT_OF_MEMORY" or "OOM" => SlurmJobState.OutOfMemory,
            "NODE_FAIL" or "NF" => SlurmJobState.NodeFail,
            "PREEMPTED" or "PR" => SlurmJobState.Preempted,
            "BOOT_FAIL" or "BF" => SlurmJobState.BootFail,
            "DEADLINE" or "DL" => SlurmJobState.Deadline,
            _ => SlurmJobState.Unknown,
        };
    }

    /// <summary>True while the job may still run: it is waited for, never resubmitted.</summary>
    public static bool IsActive(this SlurmJobState s) => s is SlurmJobState.Pending or SlurmJobState.Running or SlurmJobState.Unknown;

    /// <summary>
    /// The retry rule. Retried automatically by the waiting command (at most <see cref="SlurmOptions.MaxAutomaticRetries"/>
    /// times per unit): NODE_FAIL, PREEMPTED, BOOT_FAIL — the machine failed, not the work, and the same unit will
    /// most likely succeed elsewhere. Not retried (reported, exit 1; the next run of the command resubmits them):
    /// FAILED (the worker exited non-zero: bad input or a bug, it would fail again), TIMEOUT and OUT_OF_MEMORY
    /// (it would hit the same limit; raise --slurm-time / --slurm-mem), CANCELLED (someone chose to stop it),
    /// DEADLINE. COMPLETED without the unit's result file counts as FAILED.
    /// </summary>
    public static bool IsRetriedAutomatically(this SlurmJobState s) => s is SlurmJobState.NodeFail or SlurmJobState.Preempted or SlurmJobState.BootFail;

    /// <summary>The name Slurm prints (for messages and job records).</summary>
    public static string SlurmName(this SlurmJobState s) => s switch
    {
        SlurmJobState.OutOfMemory => "OUT_OF_MEMORY",
        SlurmJobState.NodeFail => "NODE_FAIL",
        SlurmJobState.BootFail => "BOOT_FAIL",
        _ => s.ToString().ToUpperInvariant(),
    };
}
