using System.Globalization;
using ModelSoups.Engine;

namespace ModelSoups.Cli;

/// <summary>Prints merge progress: one rewritten line on a terminal, a plain line every few seconds otherwise.</summary>
static class ProgressPrinter
{
    public static Action<MergeProgress> For(TextWriter stderr, bool interactive)
    {
        var last = TimeSpan.Zero;
        var gate = new object();
        return p =>
        {
            lock (gate)
            {
                if (!interactive && p.Elapsed - last < TimeSpan.FromSeconds(5)) return;
                last = p.Elapsed;
                var eta = p.Eta is { } e ? $"ETA {e.TotalSeconds:0}s" : "";
                double fraction = p.BytesTotal > 0 ? Math.Clamp((double)p.BytesDone / p.BytesTotal, 0, 1) : 0;
                int filled = (int)Math.Round(fraction * 24);
                var bar = "[" + new string('#', filled) + new string('.', 24 - filled) + "]";
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"merging {bar} {fraction * 100,3:0}%  {p.TensorsDone}/{p.TensorsTotal} tensors  {ByteSize.Format(p.BytesDone)}/{ByteSize.Format(p.BytesTotal)}  {p.BytesPerSecond / (1 << 30):0.00} GiB/s  {eta}");
                if (interactive) stderr.Write("\r\u001b[2K" + line);
                else stderr.WriteLine(line);
            }
        };
    }
}
