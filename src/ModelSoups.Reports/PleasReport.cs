using System.Globalization;
using System.Text;
using ModelSoups.Pleas;
using ScottPlot;

namespace ModelSoups.Reports;

/// <summary>
/// PLeaS runs as report sections: per run a table (method, budget, effective parameters relative to one model,
/// accuracy, per-task accuracy for separate label spaces) and the paper's main figure, accuracy against merged size
/// (Nasery et al. 2025, Fig. 1): PLeaS as a line over its budgets, the baselines as points.
/// </summary>
public static class PleasReport
{
    /// <summary>File names written by <see cref="Write"/>.</summary>
    public const string MarkdownFileName = "report.md", HtmlFileName = "report.html";

    /// <summary>Writes <c>report.md</c> and <c>report.html</c> for the runs into <paramref name="folder"/>; returns both paths.</summary>
    public static (string Markdown, string Html) Write(string folder, IReadOnlyList<PleasResults> runs, string title = "PLeaS: merging models trained from different initialisations")
    {
        var md = new StringBuilder($"# {title}\n\n");
        foreach (var r in runs) md.Append(Markdown(r));
        var html = new StringBuilder();
        foreach (var r in runs) html.Append(Html(r));
        var mdPath = Path.Combine(folder, MarkdownFileName);
        var htmlPath = Path.Combine(folder, HtmlFileName);
        ReportPage.Write(mdPath, md.ToString());
        ReportPage.Write(htmlPath, ReportPage.Html(title, html.ToString()));
        return (mdPath, htmlPath);
    }

    /// <summary>Size of a row relative to one model, e.g. 1.50.</summary>
    public static double RelativeSize(PleasResults r, PleasRow row) => (double)row.Parameters / r.OneModelParameters;

    /// <summary>One line per row, for the terminal.</summary>
    public static string Text(PleasResults r)
    {
        var sb = new StringBuilder();
        bool tasks = r.LabelSpace == "separate";
        sb.AppendLine(tasks ? "method                                   budget  parameters  size   accuracy  task A   task B" : "method                                   budget  parameters  size   accuracy");
        foreach (var row in r.Rows)
        {
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{row.Method,-40} {Budget(row),6}  {row.Parameters,10}  {RelativeSize(r, row),4:0.00}x  {Pct(row.Accuracy),8}"));
            if (tasks) sb.Append(string.Create(CultureInfo.InvariantCulture, $"  {Pct(row.TaskA),7}  {Pct(row.TaskB),7}"));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>The run's Markdown section.</summary>
    public static string Markdown(PleasResults r)
    {
        var sb = new StringBuilder();
        bool tasks = r.LabelSpace == "separate";
        sb.AppendLine($"## {r.Title}").AppendLine().AppendLine(Intro(r)).AppendLine();
        sb.AppendLine(tasks ? "| Method | Budget | Parameters | Size | Accuracy | Task A | Task B |" : "| Method | Budget | Parameters | Size | Accuracy |");
        sb.AppendLine(tasks ? "| --- | --- | --- | --- | --- | --- | --- |" : "| --- | --- | --- | --- | --- |");
        foreach (var row in r.Rows)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {row.Method} | {Budget(row)} | {row.Parameters} | {RelativeSize(r, row):0.00}× | {Pct(row.Accuracy)} |") +
                (tasks ? $" {Pct(row.TaskA)} | {Pct(row.TaskB)} |" : ""));
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>The run's HTML section with its figure.</summary>
    public static string Html(PleasResults r)
    {
        var sb = new StringBuilder();
        bool tasks = r.LabelSpace == "separate";
        sb.AppendLine("<section class=\"pleas\">").AppendLine($"<h2>{H(r.Title)}</h2>").AppendLine($"<p>{H(Intro(r))}</p>");
        sb.AppendLine("<table><thead><tr><th>Method</th><th>Budget</th><th>Parameters</th><th>Size</th><th>Accuracy</th>" + (tasks ? "<th>Task A</th><th>Task B</th>" : "") + "</tr></thead><tbody>");
        foreach (var row in r.Rows)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"<tr><td>{H(row.Method)}</td><td>{Budget(row)}</td><td>{row.Parameters}</td><td>{RelativeSize(r, row):0.00}×</td><td>{Pct(row.Accuracy)}</td>") +
                (tasks ? $"<td>{Pct(row.TaskA)}</td><td>{Pct(row.TaskB)}</td>" : "") + "</tr>");
        sb.AppendLine("</tbody></table>");
        sb.AppendLine(ReportPage.InlineSvg(Plot(r).GetSvgXml(800, 480)));
        sb.AppendLine("</section>");
        return sb.ToString();
    }

    /// <summary>Accuracy (%) against size relative to one model.</summary>
    public static Plot Plot(PleasResults r)
    {
        var plot = new Plot();
        var pleas = r.Rows.Where(x => x.Budget is not null && double.IsFinite(x.Accuracy)).OrderBy(x => x.Parameters).ToArray();
        if (pleas.Length > 0)
        {
            var line = plot.Add.Scatter(pleas.Select(x => RelativeSize(r, x)).ToArray(), pleas.Select(x => 100 * x.Accuracy).ToArray());
            line.Color = Colors.Blue;
            line.MarkerSize = 10;
            line.LegendText = "PLeaS (budgets)";
        }
        var palette = new[] { Colors.Black, Colors.Gray, Colors.Purple, Colors.Red, Colors.Orange, Colors.Green, Colors.Brown };
        int k = 0;
        foreach (var row in r.Rows.Where(x => x.Budget is null && double.IsFinite(x.Accuracy)))
        {
            var p = plot.Add.ScatterPoints(new[] { RelativeSize(r, row) }, new[] { 100 * row.Accuracy });
            p.Color = palette[k++ % palette.Length];
            p.MarkerSize = 12;
            p.MarkerShape = MarkerShape.FilledDiamond;
            p.LegendText = row.Method;
        }
        plot.Title($"{r.Title}: accuracy vs. merged size");
        plot.XLabel("parameters relative to one model");
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        return plot;
    }

    static string Intro(PleasResults r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Architecture}, {(r.LabelSpace == "shared" ? "shared label space (one merged head)" : "different label spaces (each model's head on the merged body; each task scored with its own head)")}; " +
        $"PLeaS on {r.Matching} matching, {r.Samples} unlabelled {(r.Features is { } f ? $"images of {f} (data-free: no task images)" : "images")}, ridge {r.Ridge:G2}; evaluated on {r.Evaluation}. " +
        $"Parameters are effective (structural zeros excluded); size is relative to one model ({r.OneModelParameters}). Wall time {r.Seconds:0} s.");

    static string Budget(PleasRow row) => row.Budget is { } b ? b.ToString("0.00", CultureInfo.InvariantCulture) : "–";
    static string Pct(double? x) => x is { } v && double.IsFinite(v) ? v.ToString("P2", CultureInfo.InvariantCulture) : "–";
    static string H(string s) => ReportPage.Encode(s);
}
