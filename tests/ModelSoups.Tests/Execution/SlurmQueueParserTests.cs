using ModelSoups.Execution.Slurm;

namespace ModelSoups.Tests.Execution;

public sealed class SlurmQueueParserTests
{
    [Theory]
    [InlineData("PENDING", SlurmJobState.Pending)]
    [InlineData("RUNNING", SlurmJobState.Running)]
    [InlineData("COMPLETING", SlurmJobState.Running)]
    [InlineData("CONFIGURING", SlurmJobState.Running)]
    [InlineData("SUSPENDED", SlurmJobState.Running)]
    [InlineData("REQUEUED", SlurmJobState.Running)]
    [InlineData("COMPLETED", SlurmJobState.Completed)]
    [InlineData("FAILED", SlurmJobState.Failed)]
    [InlineData("CANCELLED", SlurmJobState.Cancelled)]
    [InlineData("CANCELLED by 0", SlurmJobState.Cancelled)]
    [InlineData("CANCELLED+", SlurmJobState.Cancelled)]
    [InlineData("TIMEOUT", SlurmJobState.Timeout)]
    [InlineData("OUT_OF_MEMORY", SlurmJobState.OutOfMemory)]
    [InlineData("NODE_FAIL", SlurmJobState.NodeFail)]
    [InlineData("PREEMPTED", SlurmJobState.Preempted)]
    [InlineData("BOOT_FAIL", SlurmJobState.BootFail)]
    [InlineData("DEADLINE", SlurmJobState.Deadline)]
    [InlineData("PD", SlurmJobState.Pending)]
    [InlineData("OOM", SlurmJobState.OutOfMemory)]
    [InlineData("SOMETHING_NEW", SlurmJobState.Unknown)]
    public void State_names_parse(string text, SlurmJobState expected) => Assert.Equal(expected, SlurmJobStates.Parse(text));

    // The retry rule: the machine's failures are retried by the waiting command; the work's own failures, limits
    // and cancellations are reported (and resubmitted only by the next command).
    [Theory]
    [InlineData(SlurmJobState.Pending, true, false)]
    [InlineData(SlurmJobState.Running, true, false)]
    [InlineData(SlurmJobState.Unknown, true, false)]
    [InlineData(SlurmJobState.Completed, false, false)]
    [InlineData(SlurmJobState.Failed, false, false)]
    [InlineData(SlurmJobState.Cancelled, false, false)]
    [InlineData(SlurmJobState.Timeout, false, false)]
    [InlineData(SlurmJobState.OutOfMemory, false, false)]
    [InlineData(SlurmJobState.Deadline, false, false)]
    [InlineData(SlurmJobState.NodeFail, false, true)]
    [InlineData(SlurmJobState.Preempted, false, true)]
    [InlineData(SlurmJobState.BootFail, false, true)]
    public void Which_states_are_waited_for_and_which_are_retried(SlurmJobState state, bool active, bool retried)
    {
        Assert.Equal(active, state.IsActive());
        Assert.Equal(retried, state.IsRetriedAutomatically());
    }

    [Fact]
    public void Squeue_lines_give_each_array_task_its_state_and_reason()
    {
        // squeue -h -r -t all --me -o '%i|%T|%r', as this project's single-node cluster (Slurm 22.05) prints it.
        const string text = "5_2|COMPLETED|None\n5_0|COMPLETED|None\n5_1|FAILED|NonZeroExitCode\n6_0|RUNNING|None\n6_1|PENDING|Resources\n7|TIMEOUT|TimeLimit\n8_3|OUT_OF_MEMORY|OutOfMemory\n9_0|NODE_FAIL|NodeDown\n9_1|PREEMPTED|None\n10_0|CANCELLED|None\n";
        var jobs = SlurmQueueParser.ParseSqueue(text);
        Assert.Equal(10, jobs.Count);
        Assert.Equal(SlurmJobState.Failed, jobs["5_1"].State);
        Assert.Equal("NonZeroExitCode", jobs["5_1"].Reason);
        Assert.Null(jobs["5_0"].Reason);
        Assert.Equal(SlurmJobState.Running, jobs["6_0"].State);
        Assert.Equal(SlurmJobState.Pending, jobs["6_1"].State);
        Assert.Equal(SlurmJobState.Timeout, jobs["7"].State);
        Assert.Equal(SlurmJobState.OutOfMemory, jobs["8_3"].State);
        Assert.Equal(SlurmJobState.NodeFail, jobs["9_0"].State);
        Assert.Equal(SlurmJobState.Preempted, jobs["9_1"].State);
        Assert.Equal(SlurmJobState.Cancelled, jobs["10_0"].State);
        Assert.All(jobs.Values, j => Assert.Null(j.ExitCode));
    }

    [Fact]
    public void A_folded_pending_array_is_expanded_to_its_tasks()
    {
        var jobs = SlurmQueueParser.ParseSqueue("12_[0-2,5%2]|PENDING|JobArrayTaskLimit\n12_3|RUNNING|None\n");
        Assert.Equal(new[] { "12_0", "12_1", "12_2", "12_3", "12_5" }, jobs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(SlurmJobState.Pending, jobs["12_5"].State);
        Assert.Equal(new[] { "7" }, SlurmQueueParser.ExpandIds("7"));
        Assert.Equal(new[] { "7_4" }, SlurmQueueParser.ExpandIds("7_[4]"));
    }

    [Fact]
    public void Sacct_lines_give_state_and_exit_code_and_skip_job_steps()
    {
        // sacct -n -P -X -j IDS -o JobID,State,ExitCode (with -X steps are not listed, but be safe without it).
        const string text = "20_0|COMPLETED|0:0\n20_1|FAILED|1:0\n20_1.batch|FAILED|1:0\n20_2|CANCELLED by 0|0:15\n21|TIMEOUT|0:0\n22_0|OUT_OF_MEMORY|0:125\n23_0|NODE_FAIL|1:0\n24_[0-1]|PENDING|0:0\n";
        var jobs = SlurmQueueParser.ParseSacct(text);
        Assert.Equal(new[] { "20_0", "20_1", "20_2", "21", "22_0", "23_0", "24_0", "24_1" }, jobs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((SlurmJobState.Failed, 1), (jobs["20_1"].State, jobs["20_1"].ExitCode));
        Assert.Equal((SlurmJobState.Cancelled, 0), (jobs["20_2"].State, jobs["20_2"].ExitCode));
        Assert.Equal((SlurmJobState.OutOfMemory, 0), (jobs["22_0"].State, jobs["22_0"].ExitCode));
        Assert.Equal(SlurmJobState.Pending, jobs["24_1"].State);
    }

    [Fact]
    public void Empty_and_malformed_output_gives_no_jobs()
    {
        Assert.Empty(SlurmQueueParser.ParseSqueue(""));
        Assert.Empty(SlurmQueueParser.ParseSqueue("garbage without separators\n"));
        Assert.Empty(SlurmQueueParser.ParseSacct("Slurm accounting storage is disabled\n"));
    }
}
