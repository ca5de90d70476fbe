using System.Globalization;

namespace ModelSoups.Reports;

/// <summary>
/// The demo's comparison in the layout of Table 3 of Wortsman et al. 2022 (method, held-out, test, OOD mean,
/// inference cost), computed once so the terminal, Markdown and HTML agree. Accuracies in percent.
/// </summary>
public static class DemoTable
{
    /// <summary>Column headers.</summary>
    public static readonly string[] Header = ["Method", "Held-out", "Test", "OOD mean", "Cost", "Note"];

    /// <summary>Readable name of a method.</summary>
    public static string Label(string method) => method switch
    {
        DemoResults.BestIndividual => "Best individual model",
        DemoResults.UniformSoup => "Uniform soup",
        DemoResults.GreedySoup => "Greedy soup",
        DemoResults.LearnedSoup => "Learned soup",
        DemoResults.Ensemble => "Ensemble (logits)",
        DemoResults.LinearProbe => "Linear probe (common start)",
        _ when method.StartsWith(DemoRow.IngredientPrefix, StringComparison.Ordinal) => "  ingredient " + method[DemoRow.IngredientPrefix.Length..],
        _ => method,
    };

    /// <summary>One line of cells per row, summary rows first, ingredients after.</summary>
    public static IReadOnlyList<string[]> Cells(DemoResults r) => r.Rows.Select(row => new[]
    {
        Label(row.Method), DemoResults.Percent(row.HeldOut), DemoResults.Percent(row.Test), DemoResults.Percent(row.Ood),
        row.Cost.ToString("0.##", CultureInfo.InvariantCulture) + "×", row.Note ?? "",
    }).ToList();

    /// <summary>
    /// One sentence on the paper's question, from the numbers as they came out: does the greedy soup beat the best
    /// individual model on test and OOD?
    /// </summary>
    public static string Verdict(DemoResults r)
    {
        var best = r.Row(DemoResults.BestIndividual);
        var greedy = r.Row(DemoResults.GreedySoup);
        if (best is null || greedy is null) return "";
        static string Diff(double a, double b) => (100 * (a - b)).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);
        string Word(double a, double b) => a > b ? "beats" : a == b ? "ties" : "does not beat";
        return $"Greedy soup ({greedy.Members.Count} of {r.Rows.Count(x => x.IsIngredient)} ingredients) {Word(greedy.Test, best.Test)} the best individual model on test " +
            $"({Diff(greedy.Test, best.Test)} points) and {Word(greedy.Ood, best.Ood)} it on OOD ({Diff(greedy.Ood, best.Ood)} points).";
    }

    /// <summary>The table as aligned plain text.</summary>
    public static string Text(DemoResults r)
    {
        var rows = new List<string[]> { Header };
        rows.AddRange(Cells(r));
        var widths = Enumerable.Range(0, Header.Length).Select(c => rows.Max(x => x[c].Length)).ToArray();
        var sb = new System.Text.StringBuilder();
        foreach (var row in rows)
        {
            for (int c = 0; c < row.Length; c++)
                sb.Append(c == 0 ? row[c].PadRight(widths[c]) : c == row.Length - 1 ? "  " + row[c] : "  " + row[c].PadLeft(widths[c]));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The table as Markdown.</summary>
    public static string Markdown(DemoResults r)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("| ").Append(string.Join(" | ", Header)).Append(" |\n");
        sb.Append("|---|---:|---:|---:|---:|---|\n");
        foreach (var row in Cells(r)) sb.Append("| ").Append(string.Join(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal)))).Append(" |\n");
        return sb.ToString();
    }
}
