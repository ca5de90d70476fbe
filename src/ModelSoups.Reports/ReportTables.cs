using ModelSoups.Soups;

namespace ModelSoups.Reports;

/// <summary>The rows both reports show, computed once from <see cref="SoupResults"/> so Markdown and HTML agree.</summary>
public static class ReportTables
{
    /// <summary>The Table-3-style comparison (Wortsman et al. 2022): best individual, baselines, greedy soup.</summary>
    public static IReadOnlyList<(string Method, string Score, string Note)> Comparison(SoupResults r)
    {
        var best = r.BestIngredient;
        var rows = new List<(string, string, string)> { ("Best individual model", SoupResults.FormatScore(best.Score), best.Name) };
        foreach (var b in r.Baselines) rows.Add((b.Name, SoupResults.FormatScore(b.Score), b.Note ?? ""));
        rows.Add(($"Greedy soup ({(r.Accept == "gt" ? ">" : "≥")})", SoupResults.FormatScore(r.GreedyScore), $"{r.Members.Count} of {r.Ingredients.Count} ingredients"));
        return rows;
    }

    /// <summary>Ingredients in ranking order (failed ones last): rank, name, score, whether in the soup.</summary>
    public static IReadOnlyList<(string Rank, string Name, string Score, string InSoup)> Ingredients(SoupResults r)
    {
        var rows = new List<(string, string, string, string)>();
        for (int k = 0; k < r.Ranking.Count; k++)
        {
            var i = r.Ranking[k];
            rows.Add(((k + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), r.Ingredients[i].Name,
                SoupResults.FormatScore(r.Ingredients[i].Score), r.Members.Contains(i) ? "yes" : "no"));
        }
        for (int i = 0; i < r.Ingredients.Count; i++)
            if (!r.Ranking.Contains(i)) rows.Add(("—", r.Ingredients[i].Name, "failed: " + r.Ingredients[i].Error, "no"));
        return rows;
    }

    /// <summary>The greedy trajectory: step, ingredient, candidate score, accepted, soup score after the step.</summary>
    public static IReadOnlyList<(string Step, string Ingredient, string Candidate, string Decision, string Soup)> Trajectory(SoupResults r) =>
        r.Trajectory.Select(s => (
            s.Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
            s.Name,
            s.Error is null ? SoupResults.FormatScore(s.CandidateScore) : "failed",
            s.Step == 0 ? "start" : s.Accepted ? "accepted" : "rejected",
            SoupResults.FormatScore(s.SoupScore))).ToList();
}
