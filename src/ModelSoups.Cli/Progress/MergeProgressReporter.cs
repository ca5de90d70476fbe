using System.Globalization;
using ModelSoups.Engine;

namespace ModelSoups.Cli.Progress;

/// <summary>
/// Shows <see cref="MergeProgress"/> events: a "merging" bar over the bytes on a terminal; otherwise a plain line at most
/// every five seconds (<c>merging [####....]  42%  3/7 tensors  1.2 GiB/2.9 GiB  0.80 GiB/s  ETA 2s</c>).
/// Events come from the engine's progress thread; the reporter serialises them.
/// </summary>
public static class MergeProgressReporter
{
    /// <summary>How often the plain form prints a line.</summary>
    public static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    /// <summary>The callback for <see cref="MergeOptions.Progress"/> that reports into <paramref name="view"/>.</summary>
    public static Action<MergeProgress> For(ProgressView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var last = TimeSpan.Zero;
        var gate = new object();
        Spectre.Console.ProgressTask? bar = null;
        return p =>
        {
            lock (gate)
            {
                var counts = string.Create(CultureInfo.InvariantCulture,
                    $"{p.TensorsDone}/{p.TensorsTotal} tensors  {ByteSize.Format(p.BytesDone)}/{ByteSize.Format(p.BytesTotal)}  {p.BytesPerSecond / (1 << 30):0.00} GiB/s");
                if (view.IsLive)
                {
                    bar ??= view.AddBar("merging", p.BytesTotal);
                    bar!.MaxValue = Math.Max(1, p.BytesTotal);
                    bar.Value = Math.Min(p.BytesDone, bar.MaxValue);
                    ProgressView.Describe(bar, "merging  " + counts);
                    return;
                }
                if (p.Elapsed - last < PlainInterval) return;
                last = p.Elapsed;
                var eta = p.Eta is { } e ? $"ETA {e.TotalSeconds:0}s" : "";
                double fraction = p.BytesTotal > 0 ? Math.Clamp((double)p.BytesDone / p.BytesTotal, 0, 1) : 0;
                int filled = (int)Math.Round(fraction * 24);
                var plainBar = "[" + new string('#', filled) + new string('.', 24 - filled) + "]";
                view.Line(string.Create(CultureInfo.InvariantCulture, $"merging {plainBar} {fraction * 100,3:0}%  {counts}  {eta}"));
            }
        };
    }
}
