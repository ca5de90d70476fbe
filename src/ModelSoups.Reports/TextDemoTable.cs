using System.Globalization;
using System.Text;
using ModelSoups.Statistics;

namespace ModelSoups.Reports;

/// <summary>
/// The text demo's summary in the layout of Table 3 of Wortsman et al. 2022: per method, accuracy (%) on held-out, test
/// and the time shift as mean ± standard deviation over sweep seeds, with the 95 % Wilson interval of that mean accuracy
/// on the set's examples (the sampling noise of the evaluation set alone); plus the per-sweep paired tests.
/// </summary>
public static class TextDemoTable
{
    /// <summary>Sets in column order, with their headers.</summary>
    public static readonly (string Set, string Header)[] Sets = [("heldout", "Held-out"), ("test", "Test"), ("shift", "Time shift")];

    /// <summary>Readable name of a method.</summary>
    public static string Label(string method) => method == TextDemoSummary.IngredientMean ? "Ingredients (mean)" : DemoTable.Label(method);

    /// <summary>Header row.</summary>
    public static IReadOnlyList<string> Header(TextDemoSummary s) =>
        ["Method", .. Sets.Select(x => $"{x.Header} (n={s.SetSizes.GetValueOrDefault(x.Set)})"), "Cost"];

    /// <summary>One line of cells per method: "mean ± sd [low–high]" per set, then the cost.</summary>
    public static IReadOnlyList<string[]> Cells(TextDemoSummary s) => s.Methods.Select(m =>
    {
        var row = new List<string> { Label(m) };
        foreach (var (set, _) in Sets) row.Add(Cell(s.Over(m, set), s.SetSizes.GetValueOrDefault(set)));
        var cost = s.Seeds[0].Results.Row(m)?.Cost ?? 1;
        row.Add(cost.ToString("0.##", CultureInfo.InvariantCulture) + "×");
        return row.ToArray();
    }).ToList();

    static string Cell(TextDemoSummary.Aggregate a, int n)
    {
        if (!double.IsFinite(a.Mean)) return "—";
        var text = (100 * a.Mean).ToString("0.00", CultureInfo.InvariantCulture);
        if (double.IsFinite(a.StdDev)) text += " ± " + (100 * a.StdDev).ToString("0.00", CultureInfo.InvariantCulture);
        if (n > 0)
        {
            var (lo, hi) = WilsonInterval.ForAccuracy(a.Mean, n);
            text += string.Create(CultureInfo.InvariantCulture, $" [{100 * lo:0.0}–{100 * hi:0.0}]");
        }
        return text;
    }

    /// <summary>The paired tests, one line per sweep and set.</summary>
    public static IEnumerable<string> PairedLines(TextDemoSummary s) => s.Seeds.SelectMany(seed => seed.Paired.Select(p => string.Create(CultureInfo.InvariantCulture,
        $"sweep {seed.Seed}, {p.Set}: greedy {100 * p.AAccuracy:0.00} % vs best individual {100 * p.BAccuracy:0.00} %; only greedy right on {p.AOnly}, only best right on {p.BOnly}; McNemar exact p = {p.PValue:0.000}")));

    /// <summary>The table as aligned plain text.</summary>
    public static string Text(TextDemoSummary s)
    {
        var rows = new List<string[]> { Header(s).ToArray() };
        rows.AddRange(Cells(s));
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(x => x[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            for (int c = 0; c < row.Length; c++) sb.Append(c == 0 ? row[c].PadRight(widths[c]) : "  " + row[c].PadLeft(widths[c]));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The table as Markdown.</summary>
    public static string Markdown(TextDemoSummary s)
    {
        var sb = new StringBuilder();
        sb.Append("| ").Append(string.Join(" | ", Header(s))).Append(" |\n|---|---:|---:|---:|---:|\n");
        foreach (var row in Cells(s)) sb.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>The whole text-demo section as Markdown: headline, table, how to read it, paired tests.</summary>
    public static string MarkdownReport(TextDemoSummary s) =>
        "# Model soups demo: MiniLM on SpamAssassin\n\n" + s.Headline() + "\n\n" + Markdown(s) + "\n" + Legend(s) + "\n\n" +
        string.Concat(PairedLines(s).Select(l => "- " + l + "\n"));

    /// <summary>What the cells mean.</summary>
    public static string Legend(TextDemoSummary s) =>
        $"Accuracy (%): mean ± standard deviation over {s.Seeds.Count} sweep seed(s); in brackets the 95 % Wilson score interval of that mean " +
        "accuracy on the set's n examples (the evaluation set's sampling noise alone). Cost: inference cost relative to one model.";

    /// <summary>The whole page (<c>report.html</c>): the section, then further trusted sections (the sparse demo's), then the settings.</summary>
    public static string Page(TextDemoSummary s, IReadOnlyList<string> plots, IReadOnlyList<string>? sections = null)
    {
        static string E(string x) => ReportPage.Encode(x);
        var sb = new StringBuilder();
        sb.AppendLine(Html(s, plots));
        sb.AppendLine("<p>Per-sweep tables (every ingredient): <code>seed-N/report.html</code>.</p>");
        foreach (var section in sections ?? []) sb.AppendLine(section);
        sb.AppendLine("<h2>Wall time per stage</h2><table><tr><th>Stage</th><th>Seconds</th></tr>");
        foreach (var (stage, sec) in s.Seconds)
            sb.AppendLine($"<tr><td>{E(stage)}</td><td class=\"n\">{E(sec.ToString("0.0", CultureInfo.InvariantCulture))}</td></tr>");
        sb.AppendLine("</table><h2>Settings</h2><ul>");
        foreach (var (k, v) in s.Settings.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.AppendLine($"<li>{E(k)}: {E(v)}</li>");
        sb.AppendLine("</ul>");
        return ReportPage.Html(DemoHtmlReport.Title, sb.ToString());
    }

    /// <summary>The section as HTML, with one test-vs-shift plot per sweep (<paramref name="plots"/>, inline SVG).</summary>
    public static string Html(TextDemoSummary s, IReadOnlyList<string> plots)
    {
        static string E(string x) => ReportPage.Encode(x);
        var sb = new StringBuilder();
        sb.AppendLine("<h2>MiniLM on SpamAssassin (text demo)</h2>");
        sb.AppendLine($"<p class=\"big\">{E(s.Headline())}</p>");
        sb.Append("<table><tr>");
        foreach (var h in Header(s)) sb.Append("<th>").Append(E(h)).Append("</th>");
        sb.AppendLine("</tr>");
        foreach (var row in Cells(s))
        {
            sb.Append("<tr>");
            for (int c = 0; c < row.Length; c++) sb.Append(c == 0 ? "<td>" : "<td class=\"n\">").Append(E(row[c])).Append("</td>");
            sb.AppendLine("</tr>");
        }
        sb.AppendLine("</table>").AppendLine($"<p>{E(Legend(s))}</p><ul>");
        foreach (var line in PairedLines(s)) sb.AppendLine($"<li>{E(line)}</li>");
        sb.AppendLine("</ul>");
        for (int i = 0; i < plots.Count; i++)
            sb.AppendLine($"<figure>{plots[i]}<figcaption>Sweep {s.Seeds[i].Seed}: each ingredient's test accuracy against its accuracy on the time shift, soups and ensemble marked (cf. the paper's Figure 1).</figcaption></figure>");
        return sb.ToString();
    }
}
