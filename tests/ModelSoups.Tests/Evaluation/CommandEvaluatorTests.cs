using ModelSoups.Evaluation;

namespace ModelSoups.Tests.Evaluation;

public sealed class CommandEvaluatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-cmd-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Script(string name, string body)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, body + "\n");
        return "sh " + ShellQuote.Quote(path);
    }

    private Candidate Folder(string name = "model")
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        return Candidate.FromFolder(name, folder);
    }

    [Fact]
    public void Number_on_last_line_is_the_score()
    {
        var s = Script("eval.sh", "echo loading; echo 'acc on held-out'; echo 0.8125; echo; echo '  '");
        var r = new CommandEvaluator($"{s} {{model}}").Evaluate(Folder());
        Assert.Equal(0.8125, r.Score);
        Assert.Equal(0.8125, r.Metrics["score"]);
        Assert.Null(r.Logits);
    }

    [Fact]
    public void Json_score_and_metrics_are_read()
    {
        var s = Script("eval.sh", """echo '{"score": 0.81, "metrics": {"top5": 0.95, "loss": 0.7}, "n": 1000}'""");
        var r = new CommandEvaluator($"{s} {{model}}").Evaluate(Folder());
        Assert.Equal(0.81, r.Score);
        Assert.Equal(0.95, r.Metrics["top5"]);
        Assert.Equal(0.7, r.Metrics["loss"]);
        Assert.Equal(1000, r.Metrics["n"]);
    }

    [Theory]
    [InlineData("metrics.top5", 0.95)]
    [InlineData("top5", 0.95)]
    [InlineData("n", 1000)]
    public void Metric_option_picks_the_score(string metric, double expected)
    {
        var s = Script("eval.sh", """echo '{"score": 0.81, "metrics": {"top5": 0.95}, "n": 1000}'""");
        var r = new CommandEvaluator($"{s} {{model}}", metric).Evaluate(Folder());
        Assert.Equal(expected, r.Score);
    }

    [Fact]
    public void Missing_metric_is_an_error_naming_the_candidate()
    {
        var s = Script("eval.sh", """echo '{"score": 0.81, "metrics": {"top5": 0.95}}'""");
        var e = Assert.Throws<EvaluationException>(() => new CommandEvaluator($"{s} {{model}}", "metrics.top1").Evaluate(Folder("run-7")));
        Assert.Equal("run-7", e.Candidate);
        Assert.Contains("metrics.top1", e.Message);
        Assert.Contains("top5", e.Message);
    }

    [Fact]
    public void Model_path_with_spaces_and_a_quote_reaches_the_command_unchanged()
    {
        var s = Script("eval.sh", "[ -d \"$1\" ] && [ \"$#\" = 1 ] && [ \"$1\" = \"$MODELSOUPS_MODEL\" ] && echo 0.5");
        var candidate = Folder("it's a model; $(rm -rf x) `x`");
        var r = new CommandEvaluator($"{s} {{model}}").Evaluate(candidate);
        Assert.Equal(0.5, r.Score);
    }

    [Fact]
    public void Shell_quote_round_trips_through_sh()
    {
        Assert.Equal("'a b'", ShellQuote.Quote("a b"));
        Assert.Equal("'it'\\''s'", ShellQuote.Quote("it's"));
    }

    [Fact]
    public void Nonzero_exit_reports_code_and_stderr_tail()
    {
        var s = Script("eval.sh", "echo 0.9; echo 'CUDA out of memory' >&2; exit 3");
        var e = Assert.Throws<EvaluationException>(() => new CommandEvaluator($"{s} {{model}}").Evaluate(Folder("run-1")));
        Assert.Contains("exited with code 3", e.Message);
        Assert.Contains("CUDA out of memory", e.Message);
        Assert.Contains("run-1", e.Message);
    }

    [Fact]
    public void Command_not_found_is_a_clear_error()
    {
        var e = Assert.Throws<EvaluationException>(() =>
            new CommandEvaluator("no-such-evaluator-xyz --model {model}").Evaluate(Folder()));
        Assert.Contains("not found", e.Message);
        Assert.Contains("127", e.Message);
    }

    [Fact]
    public void Timeout_kills_the_whole_process_tree()
    {
        var marker = Path.Combine(_dir, "still-alive");
        // The child sleeps in a subshell (its own process); if it survived the kill it would write the marker.
        var s = Script("eval.sh", $"(sleep 2; touch '{marker}') & sleep 30; echo 0.5");
        var evaluator = new CommandEvaluator($"{s} {{model}}", timeout: TimeSpan.FromMilliseconds(300));
        var e = Assert.Throws<EvaluationException>(() => evaluator.Evaluate(Folder("slow")));
        Assert.Contains("timeout", e.Message);
        Assert.Contains("slow", e.Message);
        Thread.Sleep(2500);
        Assert.False(File.Exists(marker), "a child of the timed-out command survived");
    }

    [Fact]
    public void Cancellation_kills_and_throws_operation_canceled()
    {
        var s = Script("eval.sh", "sleep 30; echo 0.5");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.ThrowsAny<OperationCanceledException>(() => new CommandEvaluator($"{s} {{model}}").Evaluate(Folder(), cts.Token));
    }

    [Theory]
    [InlineData("echo 'accuracy: high'", "neither a number nor a JSON object")]
    [InlineData("echo '{\"score\": 0.8'", "not valid JSON")]
    [InlineData("echo '{\"acc\": 0.8}'", "no numeric \"score\"")]
    [InlineData("echo '[0.8]'", "neither a number")]
    [InlineData("echo nan", "non-finite")]
    [InlineData("true", "printed nothing")]
    public void Unparsable_output_is_an_error(string body, string expected)
    {
        var s = Script("eval.sh", body);
        var e = Assert.Throws<EvaluationException>(() => new CommandEvaluator($"{s} {{model}}").Evaluate(Folder("m")));
        Assert.Contains(expected, e.Message);
        Assert.Contains("'m'", e.Message);
    }

    [Fact]
    public void Big_output_on_both_pipes_does_not_deadlock()
    {
        // ~2 MB on each pipe, far past the 64 KiB pipe buffer.
        var s = Script("eval.sh", "i=0; while [ $i -lt 20000 ]; do echo 'log line with some padding to make it long enough ......................................' ; echo 'err line padding ..........................................................................' >&2; i=$((i+1)); done; echo 0.25");
        var r = new CommandEvaluator($"{s} {{model}}").Evaluate(Folder());
        Assert.Equal(0.25, r.Score);
    }

    [Fact]
    public void Template_without_placeholder_is_refused()
    {
        var e = Assert.Throws<ModelSoupsException>(() => new CommandEvaluator("python eval.py"));
        Assert.Contains("{model}", e.Message);
    }

    [Fact]
    public void In_memory_only_candidate_is_refused()
    {
        var c = Candidate.FromCheckpoint("mem", new TestCheckpoint());
        var e = Assert.Throws<EvaluationException>(() => new CommandEvaluator("true {model}").Evaluate(c));
        Assert.Contains("folder", e.Message);
    }

    [Fact]
    public void Description_names_template_and_metric()
    {
        var d = new CommandEvaluator("python eval.py --model {model}", "metrics.top1").Description;
        Assert.Equal("command python eval.py --model {model} metric metrics.top1", d);
        Assert.True(new CommandEvaluator("x {model}").NeedsFolder);
    }
}
