using ModelSoups.Execution;
using ModelSoups.Execution.Slurm;

namespace ModelSoups.Tests.Execution;

/// <summary>The Slurm executor's decisions (submit, adopt, resubmit, retry, report, cancel) against <see cref="FakeSlurm"/>;
/// the same paths against a real cluster are in ModelSoups.Cli.Tests (SlurmGreedyTests) and ModelSoups.TorchSharp.Tests.</summary>
public sealed class SlurmExecutorTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static readonly WorkerCommand Worker = new(["/opt/soup/soup"]);

    SlurmExecutor Executor(FakeSlurm fake, bool noWait = false, int? maxParallel = null) =>
        new(new SlurmOptions { AllowLocal = true, NoWait = noWait, PollInterval = TimeSpan.FromMilliseconds(1), MaxParallel = maxParallel }, Worker, fake);

    List<WorkUnit> Units(params string[] ids) => ids.Select(id => new WorkUnit
    {
        Id = id,
        Arguments = ["eval", "/m/" + id],
        ResultFile = Path.Combine(_dir.Path, "results", id + ".json"),
        WorkingDirectory = _dir.Path,
    }).ToList();

    ExecutionBatch Batch => new("eval", Path.Combine(_dir.Path, "work"));

    [Fact]
    public void Units_go_out_as_one_array_with_their_unit_files_and_every_job_is_recorded()
    {
        var fake = new FakeSlurm();
        var units = Units("a", "b", "c");
        var events = new List<ExecutionProgress>();
        var report = Executor(fake, maxParallel: 2).Run(units, Batch, events.Add);

        Assert.All(report.Outcomes, o => Assert.Equal(UnitState.Done, o.State));
        var (script, tasks, job) = Assert.Single(fake.Submissions);
        Assert.Equal(3, tasks);
        Assert.Equal(Path.Combine(_dir.Path, "work", "slurm", "eval-001", "job.sbatch"), script);
        Assert.Contains("#SBATCH --array=0-2%2", File.ReadAllText(script));
        Assert.Equal(units[1].ToJson(), WorkUnit.Read(SlurmScript.UnitFile(Path.GetDirectoryName(script)!, 1)).ToJson());
        Assert.Equal(new[] { $"{job}_0", $"{job}_1", $"{job}_2" }, report.Outcomes.Select(o => o.JobId));
        using (var records = SlurmJobRecords.Open(Batch.StateFolder))
        {
            var attempt = Assert.Single(records.Attempts("b"));
            Assert.Equal($"{job}_1", attempt.JobId);
            Assert.Equal(SlurmScript.ErrorLog(Path.GetDirectoryName(script)!, 1), attempt.Log);
        }
        // The display saw them queued, then running, then done.
        Assert.Contains(events, e => e.Count(UnitState.Queued) == 3);
        Assert.Contains(events, e => e.Count(UnitState.Running) == 3);
        Assert.Equal(3, events[^1].Count(UnitState.Done));
    }

    [Fact]
    public void A_rerun_keeps_finished_units_adopts_running_jobs_and_resubmits_only_the_failed_one()
    {
        var fake = new FakeSlurm { Frozen = true };
        var units = Units("a", "b", "c");
        // First command: --no-wait.
        var first = Executor(fake, noWait: true).Run(units, Batch);
        Assert.Equal(3, first.Pending.Count);
        var job = fake.Submissions[0].JobId;
        // Meanwhile: a finishes, b is still running, c fails.
        FakeSlurm.WriteResult(units[0]);
        fake.Jobs[$"{job}_0"] = fake.Jobs[$"{job}_0"] with { State = SlurmJobState.Completed };
        fake.Jobs[$"{job}_1"] = fake.Jobs[$"{job}_1"] with { State = SlurmJobState.Running };
        fake.Jobs[$"{job}_2"] = fake.Jobs[$"{job}_2"] with { State = SlurmJobState.Failed };
        // The second command's first look (poll 1) sees that; from its next look on, jobs move.
        fake.OnPoll = n => fake.Frozen = n < 2;

        var notes = new List<string>();
        var second = Executor(fake).Run(units, Batch, p => { if (p.Note is not null) notes.Add(p.Note); });

        Assert.All(second.Outcomes, o => Assert.Equal(UnitState.Done, o.State));
        Assert.True(second.Outcomes[0].Reused);
        Assert.Equal(2, fake.Submissions.Count);
        Assert.Equal(1, fake.Submissions[1].Tasks);                      // only c
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 1, ["c"] = 2 }, fake.Attempts);
        Assert.Equal($"{job}_1", second.Outcomes[1].JobId);              // b: the adopted job
        Assert.Contains(notes, n => n.Contains($"adopted 1 job(s) still queued or running: {job}_1"));
        using (var records = SlurmJobRecords.Open(Batch.StateFolder))
        {
            Assert.Equal(2, records.Attempts("c").Count);
            Assert.Single(records.Attempts("b"));
        }

        // A third run submits nothing at all.
        var third = Executor(fake).Run(units, Batch);
        Assert.Equal(2, fake.Submissions.Count);
        Assert.All(third.Outcomes, o => Assert.True(o.Reused));
    }

    [Fact]
    public void Status_reads_the_job_records_while_the_command_that_submitted_them_holds_them()
    {
        // soup status used to open the records with the journal's exclusive lock, so it failed while the command ran.
        var fake = new FakeSlurm { Frozen = true };
        var units = Units("a", "b");
        IReadOnlyList<(string Unit, SlurmJobRecords.Attempt Last, string State)>? seen = null;
        bool looked = false;
        fake.OnPoll = _ =>
        {
            // At the running command's first squeue after sbatch (its records open, the jobs queued) soup status looks; its own
            // squeue comes back here and sees the same frozen queue. Then the jobs move.
            if (looked || fake.Submissions.Count == 0) return;
            looked = true;
            seen = SlurmExecutor.Status(Batch.StateFolder, fake);
            fake.Frozen = false;
        };
        var report = Executor(fake).Run(units, Batch);
        Assert.All(report.Outcomes, o => Assert.Equal(UnitState.Done, o.State));
        var job = fake.Submissions[0].JobId;
        Assert.NotNull(seen);
        Assert.Equal(new[] { "a", "b" }, seen!.Select(r => r.Unit));
        Assert.Equal(new[] { $"{job}_0", $"{job}_1" }, seen!.Select(r => r.Last.JobId));
        Assert.All(seen!, r => Assert.Equal("PENDING", r.State));
        // Afterwards it reads them as before.
        Assert.All(SlurmExecutor.Status(Batch.StateFolder, fake), r => Assert.Equal("DONE (result written)", r.State));
    }

    [Fact]
    public void A_node_failure_is_resubmitted_but_a_timeout_is_reported_with_its_log_and_the_others_finish()
    {
        var fake = new FakeSlurm
        {
            Ending = (unit, attempt) => (unit, attempt) switch
            {
                ("a", 1) => SlurmJobState.NodeFail,
                ("b", _) => SlurmJobState.Timeout,
                _ => SlurmJobState.Completed,
            },
        };
        var units = Units("a", "b", "c");
        var report = Executor(fake).Run(units, Batch);

        Assert.Equal(new[] { UnitState.Done, UnitState.Failed, UnitState.Done }, report.Outcomes.Select(o => o.State));
        Assert.Equal(2, fake.Attempts["a"]);
        Assert.Equal(1, fake.Attempts["b"]);
        var failed = Assert.Single(report.Failed);
        Assert.StartsWith("TIMEOUT", failed.Reason);
        Assert.EndsWith("task-1.err", failed.Log);
        var e = Assert.Throws<WorkFailedException>(() => report.ThrowUnlessAllDone("rerun"));
        Assert.Contains("b (job ", e.Message);
        Assert.Contains("TIMEOUT", e.Message);
        Assert.Contains(failed.Log!, e.Message);
        using var records = SlurmJobRecords.Open(Batch.StateFolder);
        Assert.Equal("NODE_FAIL", records.Attempts("a")[0].EndState);
        Assert.Equal("TIMEOUT", records.Attempts("b")[0].EndState);
    }

    [Fact]
    public void Node_failures_are_retried_at_most_twice()
    {
        var fake = new FakeSlurm { Ending = (_, _) => SlurmJobState.Preempted };
        var report = Executor(fake).Run(Units("a"), Batch);
        Assert.Equal(UnitState.Failed, report.Outcomes[0].State);
        Assert.Equal(3, fake.Attempts["a"]);   // the first submission and two retries
        Assert.StartsWith("PREEMPTED", report.Outcomes[0].Reason);
    }

    [Fact]
    public void A_rerun_resubmits_a_unit_whose_job_left_the_queue_without_its_result()
    {
        var fake = new FakeSlurm { Frozen = true };
        var units = Units("a");
        Executor(fake, noWait: true).Run(units, Batch);
        var job = fake.Submissions[0].JobId;
        // The task ran, exited 3 and aged out of squeue; the cluster has no sacct.
        File.WriteAllText(SlurmScript.ExitFile(Path.GetDirectoryName(fake.Submissions[0].Script)!, 0), "3\n");
        fake.Jobs.Remove($"{job}_0");
        fake.Frozen = false;
        var report = Executor(fake).Run(units, Batch);
        Assert.Equal(2, fake.Submissions.Count);
        Assert.Equal(UnitState.Done, report.Outcomes[0].State);
        Assert.Equal($"{fake.Submissions[1].JobId}_0", report.Outcomes[0].JobId);
    }

    [Fact]
    public void A_task_that_leaves_the_queue_with_an_exit_code_is_reported_with_it()
    {
        var fake = new FakeSlurm();
        var units = Units("a");
        fake.OnPoll = n =>
        {
            // At the first look the task has already run, exited 3 and left the queue (MinJobAge passed).
            if (n != 1) return;
            var (script, _, job) = fake.Submissions[0];
            File.WriteAllText(SlurmScript.ExitFile(Path.GetDirectoryName(script)!, 0), "3\n");
            fake.Jobs.Remove($"{job}_0");
        };
        var report = Executor(fake).Run(units, Batch);
        var o = Assert.Single(report.Failed);
        Assert.Equal(3, o.ExitCode);
        Assert.StartsWith("exit code 3", o.Reason);
    }

    [Fact]
    public void Cancelling_scancels_the_jobs_this_call_submitted_and_says_so()
    {
        var fake = new FakeSlurm { Frozen = true };
        using var cancel = new CancellationTokenSource();
        fake.OnPoll = n => { if (n == 2) cancel.Cancel(); };
        var notes = new List<string>();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Executor(fake).Run(Units("a", "b"), Batch, p => { if (p.Note is not null) notes.Add(p.Note); }, cancel.Token));
        var job = fake.Submissions[0].JobId;
        Assert.Equal(new[] { job }, fake.Cancelled);
        Assert.Contains(notes, n => n.Contains($"cancelled Slurm job(s) {job} (scancel)"));
        Assert.All(fake.Jobs.Values, j => Assert.Equal(SlurmJobState.Cancelled, j.State));
    }

    [Fact]
    public void Cancelling_leaves_adopted_jobs_of_an_earlier_command_alone()
    {
        var fake = new FakeSlurm { Frozen = true };
        var units = Units("a");
        Executor(fake, noWait: true).Run(units, Batch);
        using var cancel = new CancellationTokenSource();
        fake.OnPoll = n => { if (n == 2) cancel.Cancel(); };
        Assert.ThrowsAny<OperationCanceledException>(() => Executor(fake).Run(units, Batch, null, cancel.Token));
        Assert.Empty(fake.Cancelled);
        Assert.Single(fake.Submissions);
    }

    [Fact]
    public void A_running_job_of_a_command_with_other_arguments_is_not_adopted()
    {
        var fake = new FakeSlurm { Frozen = true };
        Executor(fake, noWait: true).Run(Units("a"), Batch);
        var other = Units("a").Select(u => u with { Arguments = ["eval", "/other"] }).ToList();
        var e = Assert.Throws<ModelSoupsException>(() => Executor(fake).Run(other, Batch));
        Assert.Contains("other settings", e.Message);
        Assert.Contains("scancel", e.Message);
    }

    [Fact]
    public void A_node_local_output_is_refused_unless_allowed_and_the_message_says_why()
    {
        var fake = new FakeSlurm();
        var executor = new SlurmExecutor(new SlurmOptions { PollInterval = TimeSpan.FromMilliseconds(1) }, Worker, fake);
        var batch = new ExecutionBatch("eval", "/tmp/soup-out/work");
        var e = Assert.Throws<ModelSoupsException>(() => executor.Run(Units("a"), batch));
        Assert.Contains("node-local (/tmp is local to each node)", e.Message);
        Assert.Contains("--slurm-allow-local", e.Message);
        Assert.Empty(fake.Submissions);
        Assert.NotNull(NodeLocalPath.Why("/dev/shm/x"));
        Assert.NotNull(NodeLocalPath.Why("/var/tmp"));
        Assert.Null(NodeLocalPath.Why("/home/someone/project/out"));
        Assert.Null(NodeLocalPath.Why("/tmpfoo/out"));
    }
}
