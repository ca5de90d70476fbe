using System.Text;

using ModelSoups.Soups;

namespace ModelSoups.Reports;

/// <summary>The greedy soup report as Markdown (<c>report.md</c>): the same tables as the HTML page, no plot.</summary>
public static class MarkdownReport
{
    /// <summary>File name in the output folder.</summary>
    public const string FileName = "report.md";

    /// <summary>Renders the report; <paramref name="plotFile"/> (relative) is linked when given.</summary>
    public static string Render(SoupResults r, string? plotFile = null)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Greedy soup report").AppendLine();
        sb.AppendLine($"Greedy soup score **{SoupResults.FormatScore(r.GreedyScore)}** with {r.Members.Count} of {r.Ingredients.Count} ingredients " +
            $"(best individual {SoupResults.FormatScore(r.BestIngredient.Score)}). Accept rule: {(r.Accept == "gt" ? "> (official code)" : "≥ (paper, Recipe 1)")}.").AppendLine();
        sb.AppendLine("## Comparison").AppendLine();
        Table(sb, ["Method", "Held-out score", "Note"], ReportTables.Comparison(r).Select(x => new[] { x.Method, x.Score, x.Note }));
        sb.AppendLine("## Ingredients").AppendLine();
        Table(sb, ["Rank", "Ingredient", "Score", "In soup"], ReportTables.Ingredients(r).Select(x => new[] { x.Rank, x.Name, x.Score, x.InSoup }));
        sb.AppendLine("## Greedy trajectory").AppendLine();
        Table(sb, ["Step", "Ingredient tried", "Candidate score", "Decision", "Soup score"], ReportTables.Trajectory(r).Select(x => new[] { x.Step, x.Ingredient, x.Candidate, x.Decision, x.Soup }));
        if (plotFile is not null) sb.AppendLine($"![ingredient and soup scores]({plotFile})").AppendLine();
        sb.AppendLine("## Provenance").AppendLine();
        sb.AppendLine($"- evaluator: `{Code(r.Evaluator)}`");
        sb.AppendLine($"- members (join order): {string.Join(", ", r.Members.Select(i => Cell(r.Ingredients[i].Name)))}");
        foreach (var (k, v) in r.Provenance.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.AppendLine($"- {k}: {Cell(v)}");
        return sb.ToString();
    }

    private static void Table(StringBuilder sb, string[] header, IEnumerable<string[]> rows)
    {
        sb.AppendLine("| " + string.Join(" | ", header) + " |");
        sb.AppendLine("|" + string.Concat(header.Select(_ => " --- |")));
        foreach (var row in rows) sb.AppendLine("| " + string.Join(" | ", row.Select(Cell)) + " |");
        sb.AppendLine();
    }

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');

    private static string Code(string s) => s.Replace("`", "'", StringComparison.Ordinal);
}
