using ModelSoups.Execution.Slurm;

namespace ModelSoups.Tests.Execution;

/// <summary>The real Slurm client commands on the single-node test cluster (<see cref="SlurmFactAttribute"/>).</summary>
public sealed class SlurmCommandsTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [SlurmFact]
    public void Sacct_is_not_used_on_a_cluster_without_accounting()
    {
        // scripts/slurm-cluster configures AccountingStorageType=accounting_storage/none, as many small clusters are:
        // sacct answers "Slurm accounting storage is disabled", and soup falls back to squeue and the result files.
        var slurm = new SlurmCommands();
        Assert.Null(slurm.Accounting(["1"]));
        Assert.Null(slurm.Accounting(["2"]));
    }

    [SlurmFact]
    public void A_submitted_array_is_listed_by_squeue_task_by_task_and_scancel_ends_it()
    {
        var script = _dir.File("sleep.sbatch");
        File.WriteAllText(script, $"#!/bin/bash\n#SBATCH --array=0-2\n#SBATCH --output={_dir.Path}/%a.out\nsleep 60\n");
        var slurm = new SlurmCommands();
        var job = slurm.Submit(script, _dir.Path);
        try
        {
            var queue = slurm.Queue();
            foreach (var task in new[] { "_0", "_1", "_2" })
                Assert.True(queue.TryGetValue(job + task, out var info) && info.State.IsActive(), $"{job}{task} is not listed as queued or running");
        }
        finally
        {
            slurm.Cancel([job]);
        }
        Assert.True(SpinWait.SpinUntil(() => SlurmQueue.Active([job]).Count == 0, TimeSpan.FromSeconds(30)));
        var after = slurm.Queue();
        Assert.Equal(SlurmJobState.Cancelled, after[job + "_1"].State);
    }

    [SlurmFact]
    public void A_script_sbatch_refuses_is_a_user_error_with_sbatch_s_reason()
    {
        var script = _dir.File("bad.sbatch");
        File.WriteAllText(script, "#!/bin/bash\n#SBATCH --partition=no-such-partition\ntrue\n");
        var e = Assert.Throws<ModelSoupsException>(() => new SlurmCommands().Submit(script, _dir.Path));
        Assert.Contains("sbatch refused the job", e.Message);
        Assert.Contains("partition", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(script, e.Path);
    }
}
