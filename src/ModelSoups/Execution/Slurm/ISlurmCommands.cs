namespace ModelSoups.Execution.Slurm;

/// <summary>The four Slurm client commands soup uses; <see cref="SlurmCommands"/> runs the real ones.</summary>
public interface ISlurmCommands
{
    /// <summary><c>sbatch --parsable SCRIPT</c>: the array job's id.</summary>
    string Submit(string script, string workingDirectory);

    /// <summary><c>squeue</c>: this user's jobs still known to the controller (running, pending, and recently ended), by job id.</summary>
    IReadOnlyDictionary<string, SlurmJobInfo> Queue();

    /// <summary><c>sacct</c> for <paramref name="jobIds"/>, or null when the cluster has no accounting ("accounting storage is disabled").</summary>
    IReadOnlyDictionary<string, SlurmJobInfo>? Accounting(IReadOnlyCollection<string> jobIds);

    /// <summary><c>scancel IDS</c>.</summary>
    void Cancel(IReadOnlyCollection<string> jobIds);
}
