using ModelSoups.Experiments.Pleas;
using ModelSoups.Experiments.Sparse;
using ModelSoups.Reports;
using ModelSoups.Sparse;

namespace ModelSoups.Experiments;

/// <summary>
/// Assembles the pages of <c>soup demo</c> across its runs into one folder: the main demo's report (the text demo's
/// summary over sweeps, or the vision demo's table) carries the sections of the Sparse Model Soups and PLeaS demos
/// when they ran into the same folder, so whichever demo runs last brings the main page up to date.
/// </summary>
public static class DemoReports
{
    /// <summary>Writes the vision demo's <c>report.html</c> / <c>report.md</c> with the other demos' sections.</summary>
    public static void WriteVision(string folder, DemoResults results) => ReportWriter.WriteDemo(folder, results, ExtraSections(folder));

    /// <summary>Writes the text demo's reports (per sweep and the summary page) with the other demos' sections.</summary>
    public static void WriteText(string folder, TextDemoSummary summary) => ReportWriter.WriteTextDemo(folder, summary, ExtraSections(folder));

    /// <summary>
    /// Writes the main demo's report again from its results file when one of the main demos already ran into
    /// <paramref name="folder"/> (the vision demo's <c>results.json</c>, else the text demo's summary); nothing otherwise.
    /// </summary>
    public static void RefreshMain(string folder)
    {
        var main = Path.Combine(folder, DemoResults.FileName);
        var text = Path.Combine(folder, TextDemoSummary.FileName);
        if (File.Exists(main)) WriteVision(folder, DemoResults.FromJson(File.ReadAllText(main), main));
        else if (File.Exists(text)) WriteText(folder, TextDemoSummary.FromJson(File.ReadAllText(text), text));
    }

    /// <summary>The sparse demo's report section when <c>DIR/sparse/results.json</c> exists, and the PLeaS demo's sections when <c>DIR/pleas/</c> has results.</summary>
    public static IReadOnlyList<string> ExtraSections(string folder)
    {
        var path = Path.Combine(folder, SparseDemo.FolderName, SparseSoupResult.FileName);
        var sections = File.Exists(path) ? new List<string> { SparseReport.Html(SparseSoupResult.Read(path)) } : [];
        sections.AddRange(PleasDemo.ReadResults(folder).Select(PleasReport.Html));
        return sections;
    }
}
