using System.Diagnostics;
using System.Globalization;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Cli.Progress;

/// <summary>
/// Shows sweep progress (<see cref="SweepProgress"/>): on a terminal one bar per run over its steps and a line when it
/// finishes; otherwise a plain line when a run starts and finishes and a step line at most every five seconds.
/// </summary>
public sealed class TrainingProgressReporter(ProgressView view)
{
    /// <summary>How often the plain form prints a step line.</summary>
    public static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly Dictionary<int, Spectre.Console.ProgressTask> _bars = [];
    TimeSpan _last = TimeSpan.FromSeconds(-10);

    /// <summary>Reports one event.</summary>
    public void Report(SweepProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        string who = p.Run < 0 ? "common start (_init)" : $"run {p.Run + 1}/{p.Runs} {p.Name}";
        if (p.Done)
        {
            string what = p.Run < 0
                ? (p.Skipped ? "reused" : "done")
                : p.Skipped ? $"already done: held-out {p.Finished!.HeldOut:P2}"
                : string.Create(CultureInfo.InvariantCulture, $"held-out {p.Finished!.HeldOut:P2}  {p.Finished.Seconds:0.0} s{(p.Finished.Diverged ? "  (diverged)" : "")}");
            if (_bars.Remove(p.Run, out var done))
            {
                done.Value = done.MaxValue;
                done.StopTask();
            }
            view.Line($"{who}: {what}");
            return;
        }
        if (p.Step is not { } s)
        {
            if (view.IsLive) Bar(p.Run, $"{who}: {(p.Run < 0 ? "preparing" : "training")}", 1);
            else view.Line($"{who}: {(p.Run < 0 ? "preparing" : "training")}");
            return;
        }
        if (view.IsLive)
        {
            var bar = Bar(p.Run, who, s.TotalSteps);
            bar.MaxValue = Math.Max(1, s.TotalSteps);
            bar.Value = Math.Min(s.Step, bar.MaxValue);
            ProgressView.Describe(bar, string.Create(CultureInfo.InvariantCulture, $"{who}  loss {s.Loss:0.0000}  lr {s.LearningRate:G3}"));
            return;
        }
        if (_clock.Elapsed - _last < PlainInterval) return;
        _last = _clock.Elapsed;
        int width = 20, filled = (int)((long)width * s.Step / Math.Max(1, s.TotalSteps));
        var plainBar = new string('#', filled) + new string('.', width - filled);
        var eta = s.Eta is { } e ? $"ETA {e.TotalSeconds:0}s" : "";
        view.Line(string.Create(CultureInfo.InvariantCulture,
            $"{who} [{plainBar}] step {s.Step}/{s.TotalSteps}  loss {s.Loss:0.0000}  lr {s.LearningRate:G3}  {eta}"));
    }

    Spectre.Console.ProgressTask Bar(int run, string description, int total)
    {
        if (!_bars.TryGetValue(run, out var bar))
            _bars[run] = bar = view.AddBar(description, total)!;
        else ProgressView.Describe(bar, description);
        return bar;
    }
}
