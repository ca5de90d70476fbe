namespace ModelSoups.Execution;

/// <summary>
/// Runs units of work somewhere and says when their result files exist. Orchestration (which runs remain, the
/// greedy order, accepting candidates) stays with the caller; an executor only runs what it is given:
/// <see cref="ProcessExecutor"/> (child <c>soup</c> processes on this machine) or <see cref="Slurm.SlurmExecutor"/>
/// (an <c>sbatch --array</c> job). Running in process is the callers' own direct path, not an executor.
/// Contract: a unit whose result file already exists is not run again; the others run independently (one
/// failing does not stop the rest) and the call returns when every unit is done or failed (or, for Slurm with
/// <c>--no-wait</c>, submitted). Cancelling stops or cancels what this call started, then throws
/// <see cref="OperationCanceledException"/>.
/// </summary>
public interface IExecutor
{
    /// <summary>A short name for messages: <c>processes</c>, <c>slurm</c>.</summary>
    string Name { get; }

    /// <summary>Refuses, before any work starts, a state or output folder this executor cannot use (Slurm: a node-local one).</summary>
    /// <exception cref="ModelSoupsException">The folder is not usable, with the reason.</exception>
    void CheckFolder(string folder);

    /// <summary>Runs the units; returns one outcome per unit, in order.</summary>
    ExecutionReport Run(IReadOnlyList<WorkUnit> units, ExecutionBatch batch, Action<ExecutionProgress>? progress = null, CancellationToken cancel = default);
}
