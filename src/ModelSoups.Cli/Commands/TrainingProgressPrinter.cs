using System.Diagnostics;
using System.Globalization;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Cli.Commands;

/// <summary>Prints sweep progress: a rewritten line per run on a terminal, a plain line every few seconds (and per finished run) otherwise.</summary>
sealed class TrainingProgressPrinter(TextWriter stderr, bool interactive)
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    TimeSpan _last = TimeSpan.FromSeconds(-10);

    public void Report(SweepProgress p)
    {
        string who = p.Run < 0 ? "common start (_init)" : $"run {p.Run + 1}/{p.Runs} {p.Name}";
        if (p.Done)
        {
            string what = p.Run < 0
                ? (p.Skipped ? "reused" : "done")
                : p.Skipped ? $"already done: held-out {p.Finished!.HeldOut:P2}"
                : string.Create(CultureInfo.InvariantCulture, $"held-out {p.Finished!.HeldOut:P2}  {p.Finished.Seconds:0.0} s{(p.Finished.Diverged ? "  (diverged)" : "")}");
            Line($"{who}: {what}", final: true);
            return;
        }
        if (p.Step is not { } s)
        {
            Line($"{who}: {(p.Run < 0 ? "preparing" : "training")}", final: !interactive);
            return;
        }
        if (!interactive && _clock.Elapsed - _last < TimeSpan.FromSeconds(5)) return;
        _last = _clock.Elapsed;
        int width = 20, filled = (int)((long)width * s.Step / Math.Max(1, s.TotalSteps));
        var bar = new string('#', filled) + new string('.', width - filled);
        var eta = s.Eta is { } e ? $"ETA {e.TotalSeconds:0}s" : "";
        Line(string.Create(CultureInfo.InvariantCulture,
            $"{who} [{bar}] step {s.Step}/{s.TotalSteps}  loss {s.Loss:0.0000}  lr {s.LearningRate:G3}  {eta}"), final: false);
    }

    void Line(string text, bool final)
    {
        if (interactive)
        {
            stderr.Write("\r\u001b[2K" + text);
            if (final) stderr.WriteLine();
        }
        else stderr.WriteLine(text);
    }
}
