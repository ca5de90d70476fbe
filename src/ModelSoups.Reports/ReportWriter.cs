using ModelSoups.Soups;

namespace ModelSoups.Reports;

/// <summary>Writes <c>report.html</c> (plot as inline SVG) and <c>report.md</c> into a soup's output folder from its results.</summary>
public static class ReportWriter
{
    /// <summary>Writes both reports for <paramref name="results"/> into <paramref name="folder"/>; returns their paths.</summary>
    public static (string Html, string Markdown) Write(string folder, SoupResults results)
    {
        var html = Path.Combine(folder, HtmlReport.FileName);
        var md = Path.Combine(folder, MarkdownReport.FileName);
        ReportPage.Write(html, HtmlReport.Render(results, ReportPage.InlineSvg(SoupPlot.Svg(results))));
        ReportPage.Write(md, MarkdownReport.Render(results));
        return (html, md);
    }

    /// <summary>Reads <c>results.json</c> from <paramref name="folder"/> and writes both reports.</summary>
    public static (string Html, string Markdown) Regenerate(string folder)
    {
        var path = Path.Combine(Path.GetFullPath(folder), SoupResults.FileName);
        if (!Directory.Exists(folder)) throw new ModelSoupsException("the soup folder does not exist.", Path.GetFullPath(folder));
        if (!File.Exists(path)) throw new ModelSoupsException($"the folder has no {SoupResults.FileName}; it was not written by soup greedy.", path);
        return Write(folder, SoupResults.FromJson(File.ReadAllText(path), path));
    }

    /// <summary>Writes the demo's <c>report.html</c> (table, test-vs-OOD scatter) and <c>report.md</c> into <paramref name="folder"/>; returns their paths.</summary>
    /// <remarks><paramref name="sections"/>: further HTML sections for <c>report.html</c> (the sparse demo's, when it ran).</remarks>
    public static (string Html, string Markdown) WriteDemo(string folder, DemoResults results, IReadOnlyList<string>? sections = null)
    {
        var html = Path.Combine(folder, DemoHtmlReport.FileName);
        var md = Path.Combine(folder, MarkdownReport.FileName);
        ReportPage.Write(html, DemoHtmlReport.Render(results, ReportPage.InlineSvg(DemoPlot.Svg(results)), sections));
        ReportPage.Write(md, "# Model soups demo\n\n" + DemoTable.Verdict(results) + "\n\n" + DemoTable.Markdown(results));
        return (html, md);
    }

    /// <summary>
    /// Writes the text demo's reports: per sweep seed <c>seed-N/report.html</c> and <c>report.md</c> (every ingredient, the
    /// test-vs-shift plot), and <c>report.html</c> / <c>report.md</c> in <paramref name="folder"/> with the summary over seeds.
    /// </summary>
    public static (string Html, string Markdown) WriteTextDemo(string folder, TextDemoSummary summary, IReadOnlyList<string>? sections = null)
    {
        var plots = new List<string>();
        foreach (var seed in summary.Seeds)
        {
            var seedFolder = Path.Combine(folder, $"seed-{seed.Seed}");
            Directory.CreateDirectory(seedFolder);
            WriteDemo(seedFolder, seed.Results);
            plots.Add(ReportPage.InlineSvg(DemoPlot.Svg(seed.Results)));
        }
        var html = Path.Combine(folder, DemoHtmlReport.FileName);
        var md = Path.Combine(folder, MarkdownReport.FileName);
        ReportPage.Write(html, TextDemoTable.Page(summary, plots, sections));
        ReportPage.Write(md, TextDemoTable.MarkdownReport(summary));
        return (html, md);
    }
}
