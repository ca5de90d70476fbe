using ModelSoups.Experiments.Pleas;
using ModelSoups.Reports;

namespace ModelSoups.Cli.Commands;

/// <summary>The <c>soup demo --pleas</c> part of <see cref="DemoCommand"/>: runs <see cref="PleasDemo"/> and prints its tables.</summary>
public static class PleasDemoCommand
{
    /// <summary>Runs the demo with progress lines on <paramref name="stderr"/> and the tables on <paramref name="stdout"/>.</summary>
    public static void Run(PleasDemoOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel = default)
    {
        stderr.WriteLine($"soup demo --pleas: writing to {Path.Combine(options.Out, PleasDemo.FolderName)}");
        var runs = PleasDemo.Run(options, line => stderr.WriteLine($"[pleas] {line}"), cancel);
        foreach (var r in runs)
        {
            stdout.WriteLine();
            stdout.WriteLine(r.Title);
            stdout.Write(PleasReport.Text(r));
        }
        stdout.WriteLine($"Report: {Path.Combine(options.Out, PleasDemo.FolderName, PleasReport.HtmlFileName)}");
    }
}
