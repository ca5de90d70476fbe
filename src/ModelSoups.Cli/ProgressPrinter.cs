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
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"merging {p.TensorsDone}/{p.TensorsTotal} tensors  {ByteSize.Format(p.BytesDone)}/{ByteSize.Format(p.BytesTotal)}  {p.BytesPerSecond / (1 << 30):0.00} GiB/s  {eta}");
                if (interactive) stderr.Write("\r\u001b[2K" + line);
                else stderr.WriteLine(line);
            }
        };
    }
}
