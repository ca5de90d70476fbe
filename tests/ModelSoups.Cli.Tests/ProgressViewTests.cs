using ModelSoups.Cli.Progress;
using ModelSoups.Engine;
using ModelSoups.Execution;
using Spectre.Console;

namespace ModelSoups.Cli.Tests;

public sealed class ProgressViewTests
{
    static MergeProgress At(double seconds, long done) => new(TensorsDone: done == 0 ? 0 : 1, TensorsTotal: 2, BytesDone: done, BytesTotal: 4L << 20, TimeSpan.FromSeconds(seconds));

    [Fact]
    public void A_writer_that_is_not_a_terminal_gets_throttled_plain_lines()
    {
        var stderr = new StringWriter();
        Assert.False(Terminal.Is(stderr));
        ProgressView.Run(stderr, view =>
        {
            Assert.False(view.IsLive);
            var report = MergeProgressReporter.For(view);
            report(At(1, 0));            // within the first 5 s: not printed
            report(At(6, 2L << 20));     // printed
            report(At(8, 3L << 20));     // 2 s after the last line: not printed
            view.Line("a message");
            return 0;
        });
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // 2 MiB of 4 MiB = 50 %: 12 of the 24 bar cells filled; 2 MiB in 6 s = 0.0003 GiB/s; the other half at that pace: 6 s.
        Assert.Equal(["merging [############............]  50%  1/2 tensors  2.00 MiB/4.00 MiB  0.00 GiB/s  ETA 6s", "a message"], lines);
        Assert.DoesNotContain('\u001b', stderr.ToString());
    }

    [Fact]
    public void A_terminal_gets_a_live_spectre_bar_and_messages_above_it()
    {
        var screen = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(screen),
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
        });
        int result = ProgressView.Run(new StringWriter(), console, view =>
        {
            Assert.True(view.IsLive);
            var report = MergeProgressReporter.For(view);
            report(At(0.1, 1L << 20));
            report(At(0.2, 3L << 20));                  // 75 %: a finished bar would be hidden
            view.Line("tensor [a] done", Color.Green);   // markup characters in the text are shown, not interpreted
            Thread.Sleep(300);                           // at least one refresh of the live display
            return 42;
        });
        Assert.Equal(42, result);
        var text = screen.ToString();
        Assert.Contains("merging", text);
        Assert.Contains("1/2 tensors", text);
        Assert.Contains("75%", text);
        Assert.Contains("tensor [a] done", text);
        Assert.Contains("\u001b[", text);               // drawn with ANSI sequences (bar, colour, cursor)
    }

    static ExecutionProgress Units(string? note, params UnitState[] states) =>
        new("ingredients", states.Select((st, i) => new UnitStatus($"eval-m{i}", st, st is UnitState.Queued or UnitState.Running ? $"10{i}" : null)).ToList(), note);

    [Fact]
    public void Executor_progress_on_a_redirected_writer_is_one_plain_line_per_change_and_one_per_note()
    {
        var stderr = new StringWriter();
        ProgressView.Run(stderr, view =>
        {
            var executor = new ExecutionProgressView(view, "slurm");
            executor.Report(Units(null, UnitState.Queued, UnitState.Waiting));
            executor.Report(Units(null, UnitState.Queued, UnitState.Waiting));              // same counts: no second line
            executor.Report(Units("retrying eval-m1: NODE_FAIL", UnitState.Running, UnitState.Failed));
            executor.Report(Units(null, UnitState.Done, UnitState.Done));
            return 0;
        });
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Waiting and queued both count as queued; running units show their job ids, failed ones their ids.
        Assert.Equal([
            "slurm ingredients: 2 queued, 0 running, 0 done, 0 failed  eval-m0 100 (queued)",
            "slurm ingredients: 0 queued, 1 running, 0 done, 1 failed  eval-m0 100  failed: eval-m1",
            "slurm: retrying eval-m1: NODE_FAIL",
            "slurm ingredients: 0 queued, 0 running, 2 done, 0 failed",
        ], lines);
        Assert.DoesNotContain('\u001b', stderr.ToString());
    }

    [Fact]
    public void Executor_progress_on_a_terminal_is_drawn_by_the_console_that_draws_the_bars()
    {
        var screen = new StringWriter();
        var plain = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(screen),
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
        });
        ProgressView.Run(plain, console, view =>
        {
            MergeProgressReporter.For(view)(At(0.1, 1L << 20));
            var executor = new ExecutionProgressView(view, "processes");
            executor.Report(Units(null, UnitState.Running, UnitState.Done));
            executor.Report(Units("adopted job 7", UnitState.Done, UnitState.Done));
            Thread.Sleep(300);                           // at least one refresh of the live display
            return 0;
        });
        var text = screen.ToString();
        Assert.Contains("merging", text);               // the bar …
        Assert.Contains("running", text);                // … and the executor's lines, on one console
        Assert.Contains("2 done", text);
        Assert.Contains("processes: adopted job 7", text);
        Assert.Contains("\u001b[", text);
        Assert.Equal("", plain.ToString());              // nothing bypassed the live display
    }
}
