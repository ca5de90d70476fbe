using System.Globalization;
using System.Text;

namespace ModelSoups.Reports;

/// <summary>The demo report as one self-contained HTML page (<c>report.html</c>, the shared <see cref="ReportPage"/> template): the table, the plot as inline SVG, the shifts, stage times and settings.</summary>
public static class DemoHtmlReport
{
    /// <summary>File name in the demo's output folder.</summary>
    public const string FileName = "report.html";

    /// <summary>Title and first heading of the demo pages.</summary>
    public const string Title = "Model soups demo";

    /// <summary>Renders the page; <paramref name="svgPlot"/> is embedded as is (null: no plot).</summary>
    /// <param name="r">The demo's results.</param>
    /// <param name="svgPlot">The test-vs-OOD scatter as inline SVG, or null.</param>
    /// <param name="sections">Further trusted HTML sections appended before the settings (e.g. the Sparse Model Soups section of <c>soup demo --sparse</c>).</param>
    public static string Render(DemoResults r, string? svgPlot, IReadOnlyList<string>? sections = null)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"<p class=\"big\">{E(DemoTable.Verdict(r))}</p>");
        sb.AppendLine("<p>Layout of Table 3 of Wortsman et al. (2022): top-1 accuracy (%) on the held-out set (soups choose on it), " +
            "the test set and the mean over the distribution shifts; cost is inference cost relative to one model.</p>");
        sb.Append("<table><tr>");
        foreach (var h in DemoTable.Header) sb.Append("<th>").Append(E(h)).Append("</th>");
        sb.AppendLine("</tr>");
        var cells = DemoTable.Cells(r);
        for (int i = 0; i < cells.Count; i++)
        {
            sb.Append(r.Rows[i].IsIngredient ? "<tr>" : "<tr class=\"summary\">");
            for (int c = 0; c < cells[i].Length; c++)
                sb.Append(c is >= 1 and <= 4 ? "<td class=\"n\">" : "<td>").Append(E(cells[i][c])).Append("</td>");
            sb.AppendLine("</tr>");
        }
        sb.AppendLine("</table>");
        if (svgPlot is not null)
            sb.AppendLine("<figure>").AppendLine(svgPlot).AppendLine("<figcaption>Each fine-tuned ingredient's test accuracy against its mean accuracy under the shifts, with the soups, the best individual model and the ensemble marked (cf. the paper's Figure 1).</figcaption></figure>");
        sb.AppendLine("<h2>Distribution shifts (accuracy %, per shift)</h2>");
        sb.Append("<table><tr><th>Method</th>");
        foreach (var (name, what) in r.ShiftDescriptions) sb.Append("<th title=\"").Append(E(what)).Append("\">").Append(E(name)).Append("</th>");
        sb.AppendLine("</tr>");
        foreach (var row in r.Rows)
        {
            sb.Append("<tr><td>").Append(E(DemoTable.Label(row.Method))).Append("</td>");
            foreach (var (name, _) in r.ShiftDescriptions)
                sb.Append("<td class=\"n\">").Append(E(DemoResults.Percent(row.Shifts.TryGetValue(name, out var v) ? v : double.NaN))).Append("</td>");
            sb.AppendLine("</tr>");
        }
        sb.AppendLine("</table><ul>");
        foreach (var (name, what) in r.ShiftDescriptions) sb.AppendLine($"<li><b>{E(name)}</b>: {E(what)}</li>");
        sb.AppendLine("</ul><h2>Members</h2><ul>");
        foreach (var row in r.Rows.Where(x => !x.IsIngredient))
            sb.AppendLine($"<li>{E(DemoTable.Label(row.Method))}: {E(string.Join(", ", row.Members))}</li>");
        sb.AppendLine("</ul><h2>Wall time per stage</h2><table><tr><th>Stage</th><th>Seconds</th></tr>");
        foreach (var (stage, s) in r.Seconds)
            sb.AppendLine($"<tr><td>{E(stage)}</td><td class=\"n\">{E(s.ToString("0.0", CultureInfo.InvariantCulture))}</td></tr>");
        sb.AppendLine("</table>");
        foreach (var section in sections ?? []) sb.AppendLine(section);
        sb.AppendLine("<h2>Settings</h2><ul>");
        foreach (var (k, v) in r.Settings.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.AppendLine($"<li>{E(k)}: {E(v)}</li>");
        sb.AppendLine("</ul>");
        return ReportPage.Html(Title, sb.ToString());
    }

    static string E(string s) => ReportPage.Encode(s);
}
