using System.Text;

using ModelSoups.Soups;

namespace ModelSoups.Reports;

/// <summary>
/// The greedy soup report as one self-contained HTML page (<c>report.html</c>) in the shared <see cref="ReportPage"/>
/// template, the plot embedded as inline SVG.
/// </summary>
public static class HtmlReport
{
    /// <summary>File name in the output folder.</summary>
    public const string FileName = "report.html";

    /// <summary>Renders the page; <paramref name="svgPlot"/> is an SVG document embedded as is (null: no plot).</summary>
    public static string Render(SoupResults r, string? svgPlot)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"<p class=\"big\">Greedy soup score <b>{E(SoupResults.FormatScore(r.GreedyScore))}</b> with {r.Members.Count} of {r.Ingredients.Count} ingredients " +
            $"(best individual {E(SoupResults.FormatScore(r.BestIngredient.Score))}).</p>");
        sb.AppendLine($"<p>Accept rule: {(r.Accept == "gt" ? "&gt; (official code)" : "&ge; (paper, Recipe 1)")}.</p>");
        if (svgPlot is not null) sb.AppendLine("<figure>").AppendLine(svgPlot).AppendLine("<figcaption>Held-out score of each ingredient (by rank) and of the greedy soup after each step.</figcaption></figure>");
        sb.AppendLine("<h2>Comparison</h2>");
        Table(sb, ["Method", "Held-out score", "Note"], ReportTables.Comparison(r).Select(x => (new[] { x.Method, x.Score, x.Note }, (string?)null)));
        sb.AppendLine("<h2>Ingredients</h2>");
        Table(sb, ["Rank", "Ingredient", "Score", "In soup"], ReportTables.Ingredients(r).Select(x => (new[] { x.Rank, x.Name, x.Score, x.InSoup }, x.InSoup == "yes" ? "accepted" : null)));
        sb.AppendLine("<h2>Greedy trajectory</h2>");
        Table(sb, ["Step", "Ingredient tried", "Candidate score", "Decision", "Soup score"],
            ReportTables.Trajectory(r).Select(x => (new[] { x.Step, x.Ingredient, x.Candidate, x.Decision, x.Soup }, (string?)(x.Decision == "rejected" ? "rejected" : "accepted"))));
        sb.AppendLine("<h2>Provenance</h2><ul>");
        sb.AppendLine($"<li>evaluator: <code>{E(r.Evaluator)}</code></li>");
        sb.AppendLine($"<li>members (join order): {E(string.Join(", ", r.Members.Select(i => r.Ingredients[i].Name)))}</li>");
        foreach (var (k, v) in r.Provenance.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.AppendLine($"<li>{E(k)}: {E(v)}</li>");
        sb.AppendLine("</ul>");
        return ReportPage.Html("Greedy soup report", sb.ToString());
    }

    private static void Table(StringBuilder sb, string[] header, IEnumerable<(string[] Cells, string? Class)> rows)
    {
        sb.Append("<table><tr>");
        foreach (var h in header) sb.Append("<th>").Append(E(h)).Append("</th>");
        sb.AppendLine("</tr>");
        foreach (var (cells, cls) in rows)
        {
            sb.Append(cls is null ? "<tr>" : $"<tr class=\"{cls}\">");
            foreach (var c in cells) sb.Append("<td>").Append(E(c)).Append("</td>");
            sb.AppendLine("</tr>");
        }
        sb.AppendLine("</table>");
    }

    private static string E(string s) => ReportPage.Encode(s);
}
