using System.Globalization;
using System.Text;
using ModelSoups.Sparse;

namespace ModelSoups.Reports;

/// <summary>
/// The sparse run's tables as Markdown and HTML fragments (for the demo report to include) and as files
/// (<c>report.md</c>, <c>report.html</c> in the shared <see cref="ReportPage"/> template): per phase, IMP, the best single ingredient, SMS uniform and SMS greedy on
/// held-out, test and OOD; then every ingredient.
/// </summary>
public static class SparseReport
{
    /// <summary>File names in the output folder.</summary>
    public const string MarkdownFileName = "report.md", HtmlFileName = "report.html";

    /// <summary>Writes <c>report.md</c> and <c>report.html</c> of a sparse run into <paramref name="folder"/> (beside its <c>results.json</c>); returns both paths.</summary>
    public static (string Markdown, string Html) Write(string folder, SparseSoupResult r)
    {
        var md = Path.Combine(folder, MarkdownFileName);
        var html = Path.Combine(folder, HtmlFileName);
        ReportPage.Write(md, Markdown(r, heading: "#"));
        ReportPage.Write(html, HtmlPage(r));
        return (md, html);
    }

    /// <summary>The summary rows of a phase: IMP, best ingredient (by held-out), SMS uniform, SMS greedy.</summary>
    public static IReadOnlyList<(string Label, SparseRow Row)> Summary(SparsePhaseResult phase)
    {
        var list = new List<(string, SparseRow)>();
        void Add(string label, SparseRow? r) { if (r is not null) list.Add((label, r)); }
        Add("IMP (one retrain per phase)", phase.Rows.FirstOrDefault(r => r.Method == SparseRow.Imp));
        var best = phase.Rows.Where(r => r.Method.StartsWith(SparseRow.IngredientPrefix, StringComparison.Ordinal)).MaxBy(r => r.HeldOut);
        Add(best is null ? "best ingredient" : $"best ingredient ({best.Method[SparseRow.IngredientPrefix.Length..]})", best);
        Add("SMS uniform", phase.Rows.FirstOrDefault(r => r.Method == SparseRow.SmsUniform));
        Add($"SMS greedy ({phase.GreedyMembers.Count} of {phase.Rows.Count(r => r.Method.StartsWith(SparseRow.IngredientPrefix, StringComparison.Ordinal))})",
            phase.Rows.FirstOrDefault(r => r.Method == SparseRow.SmsGreedy));
        return list;
    }

    /// <summary>The Markdown section; <paramref name="heading"/> is the section's heading marks (e.g. <c>##</c>).</summary>
    public static string Markdown(SparseSoupResult r, string heading = "##")
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{heading} Sparse Model Soups").AppendLine();
        sb.AppendLine(Intro(r)).AppendLine();
        sb.AppendLine("| Phase | Sparsity | Method | Held-out | Test | OOD |");
        sb.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var p in r.Phases)
            foreach (var (label, row) in Summary(p))
                sb.AppendLine($"| {p.Phase} | {Pct(p.Sparsity)} | {Cell(label)} | {Pct(row.HeldOut)} | {Pct(row.Test)} | {Pct(row.Ood)} |");
        sb.AppendLine();
        sb.AppendLine($"{heading}# Every model").AppendLine();
        sb.AppendLine("| Phase | Model | Held-out | Test | OOD |");
        sb.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var p in r.Phases)
            foreach (var row in p.Rows)
                sb.AppendLine($"| {p.Phase} | {Cell(row.Method)} | {Pct(row.HeldOut)} | {Pct(row.Test)} | {Pct(row.Ood)} |");
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>The HTML section (a <c>&lt;section&gt;</c> element, no page around it).</summary>
    public static string Html(SparseSoupResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("<section class=\"sparse-soups\">");
        sb.AppendLine("<h2>Sparse Model Soups</h2>");
        sb.AppendLine($"<p>{H(Intro(r))}</p>");
        sb.AppendLine("<table><thead><tr><th>Phase</th><th>Sparsity</th><th>Method</th><th>Held-out</th><th>Test</th><th>OOD</th></tr></thead><tbody>");
        foreach (var p in r.Phases)
            foreach (var (label, row) in Summary(p))
                sb.AppendLine($"<tr><td class=\"n\">{p.Phase}</td><td class=\"n\">{Pct(p.Sparsity)}</td><td>{H(label)}</td><td class=\"n\">{Pct(row.HeldOut)}</td><td class=\"n\">{Pct(row.Test)}</td><td class=\"n\">{Pct(row.Ood)}</td></tr>");
        sb.AppendLine("</tbody></table>");
        sb.AppendLine("<h3>Every model</h3>");
        sb.AppendLine("<table><thead><tr><th>Phase</th><th>Model</th><th>Held-out</th><th>Test</th><th>OOD</th></tr></thead><tbody>");
        foreach (var p in r.Phases)
            foreach (var row in p.Rows)
                sb.AppendLine($"<tr><td class=\"n\">{p.Phase}</td><td>{H(row.Method)}</td><td class=\"n\">{Pct(row.HeldOut)}</td><td class=\"n\">{Pct(row.Test)}</td><td class=\"n\">{Pct(row.Ood)}</td></tr>");
        sb.AppendLine("</tbody></table>");
        sb.AppendLine("</section>");
        return sb.ToString();
    }

    /// <summary>A standalone HTML page around <see cref="Html"/>, in the shared <see cref="ReportPage"/> template.</summary>
    public static string HtmlPage(SparseSoupResult r) => ReportPage.Html("Sparse Model Soups", Html(r));

    static string Intro(SparseSoupResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Architecture}, pruned to {r.TargetSparsity:P0} in {r.Phases.Count} phase(s) ({r.Pruning} magnitude pruning of Conv/Linear weights); " +
        $"{r.Phases.FirstOrDefault()?.Rows.Count(x => x.Method.StartsWith(SparseRow.IngredientPrefix, StringComparison.Ordinal)) ?? 0} ingredients per phase varying {r.Vary}; " +
        $"the {r.Merge} soup starts each next phase. Each ingredient's retrain: {r.Retrain}; IMP's single retrain per phase is {(r.ImpBudget == "total_compute" ? "as long as all the ingredients' retrains together (the same total compute)" : "as long as one ingredient's")}. Scores: {r.Scorer}. Wall time {r.Seconds:0} s.");

    static string Pct(double? x) => x is { } v ? v.ToString("P2", CultureInfo.InvariantCulture) : "–";
    static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
    static string H(string s) => ReportPage.Encode(s);
}
