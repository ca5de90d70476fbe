using System.Diagnostics;
using ModelSoups.Evaluation;

namespace ModelSoups.Tests.Evaluation;

/// <summary>Evaluators that hang, leave children behind or print without end never hang soup or exhaust its memory.</summary>
/// <summary>Runs alone: one test measures the process's allocations, which tests running beside it would add to.</summary>
[CollectionDefinition(nameof(EvaluatorHangTests), DisableParallelization = true)]
public sealed class EvaluatorHangCollection;

[Collection(nameof(EvaluatorHangTests))]
public sealed class EvaluatorHangTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-eval-hang-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Script(string body)
    {
        var path = Path.Combine(_dir, "eval.sh");
        File.WriteAllText(path, body + "\n");
        return "sh " + ShellQuote.Quote(path) + " {model}";
    }

    private Candidate Folder()
    {
        var folder = Path.Combine(_dir, "model");
        Directory.CreateDirectory(folder);
        return Candidate.FromFolder("model", folder);
    }

    private static bool Alive(string pidFile)
    {
        for (int i = 0; i < 50 && !File.Exists(pidFile); i++) Thread.Sleep(20);
        var pid = File.ReadAllText(pidFile).Trim();
        // A killed child may linger as a zombie of init for a moment; a zombie runs nothing.
        var stat = $"/proc/{pid}/stat";
        return File.Exists(stat) && !File.ReadAllText(stat).Split(") ")[1].StartsWith('Z');
    }

    [Fact]
    public void A_background_child_holding_stdout_does_not_keep_soup_waiting_and_is_killed()
    {
        var pidFile = Path.Combine(_dir, "child.pid");
        // The score is printed, then the script exits, leaving `sleep 300` with the stdout pipe open.
        var evaluator = new CommandEvaluator(Script($"sleep 300 & echo $! > '{pidFile}'; echo 0.5"));
        var clock = Stopwatch.StartNew();
        var r = evaluator.Evaluate(Folder());
        Assert.Equal(0.5, r.Score);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Thread.Sleep(200);
        Assert.False(Alive(pidFile), "the background child survived the evaluator's exit");
    }

    [Fact]
    public void A_timeout_kills_the_process_group_including_background_sleepers()
    {
        var pidFile = Path.Combine(_dir, "child.pid");
        var evaluator = new CommandEvaluator(Script($"sleep 300 & echo $! > '{pidFile}'; wait"), timeout: TimeSpan.FromMilliseconds(500));
        var e = Assert.Throws<EvaluationException>(() => evaluator.Evaluate(Folder()));
        Assert.Contains("ran longer than the timeout of 0.5 s and was killed", e.Message);
        Thread.Sleep(200);
        Assert.False(Alive(pidFile), "the orphaned sleep survived the timeout");
    }

    [Fact]
    public void A_huge_line_before_the_score_costs_a_bounded_tail_not_its_size()
    {
        // 200 MB on one line, then the score. Before: ReadLine held the whole line (a 1.2 GB line was "Out of memory").
        var evaluator = new CommandEvaluator(Script("head -c 200000000 /dev/zero | tr '\\0' x; echo; echo 0.25"));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var r = evaluator.Evaluate(Folder());
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(0.25, r.Score);
        // Reading 200 MB of chars allocates nothing per byte: far below the 400 MB the line would take as a string.
        Assert.True(allocated < 100_000_000, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_huge_last_line_is_cut_to_its_end_and_the_error_says_so()
    {
        var evaluator = new CommandEvaluator(Script("head -c 5000000 /dev/zero | tr '\\0' 7"));
        var e = Assert.Throws<EvaluationException>(() => evaluator.Evaluate(Folder()));
        Assert.Contains("its last line was longer than 64 KiB; only its end was kept", e.Message);
    }

    [Fact]
    public void The_cli_has_a_default_evaluation_timeout_and_says_so_in_help()
    {
        var o = new StringWriter();
        ModelSoups.Cli.SoupApp.Run(["greedy", "--help"], o, new StringWriter());
        Assert.Contains("default 21600, i.e. 6 h", o.ToString().ReplaceLineEndings(" ").Replace("  ", " "));
    }
}
