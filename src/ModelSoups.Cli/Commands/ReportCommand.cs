using System.CommandLine;
using ModelSoups.Reports;

namespace ModelSoups.Cli.Commands;

/// <summary><c>soup report DIR</c>: regenerates report.html and report.md from DIR/results.json.</summary>
public static class ReportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "A soup folder written by soup greedy (it holds results.json)." };
        var command = new Command("report", "Write report.html (self-contained, with a plot) and report.md for a greedy soup from its results.json.") { dir };
        command.SetAction(parse =>
        {
            var (html, md) = ReportWriter.Regenerate(parse.GetValue(dir)!);
            parse.InvocationConfiguration.Output.WriteLine($"wrote {html}");
            parse.InvocationConfiguration.Output.WriteLine($"wrote {md}");
            return 0;
        });
        return command;
    }
}
