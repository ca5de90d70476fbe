using System.Globalization;
using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.Soups;

namespace ModelSoups.Experiments;

/// <summary>
/// Both soups demos' greedy soup (Wortsman et al. 2022, Recipe 1: ingredients ranked by held-out score, each kept when
/// the soup's held-out score does not drop, ≥), built in memory. The ingredients' held-out scores the demo already has
/// are seeded into its <see cref="DemoEvaluationCache"/>, so only soups are evaluated; each soup evaluation is reported
/// as one line.
/// </summary>
static class DemoGreedySoup
{
    /// <summary>
    /// Runs the greedy soup; the soup it chose is <paramref name="keep"/> of the builder's soup, or null when only the best
    /// ingredient was kept (nothing was averaged: the caller has that ingredient as trained).
    /// </summary>
    /// <param name="candidates">the ingredients, in sweep order.</param>
    /// <param name="heldOut">each ingredient's held-out score, in that order.</param>
    /// <param name="heldOutEvaluator">scores a soup on held-out data.</param>
    /// <param name="cache">the demo's evaluation cache (replays soups scored by an earlier run).</param>
    /// <param name="keep">turns the builder's soup into the checkpoint the demo keeps (a copy, or a recalibrated one).</param>
    /// <param name="report">receives <c>LABEL: held-out P%</c> per soup evaluated or replayed.</param>
    /// <param name="cancel">stops between evaluations.</param>
    public static (GreedyResult Result, ICheckpoint? Soup) Run(IReadOnlyList<Candidate> candidates, IReadOnlyList<double> heldOut,
        IEvaluator heldOutEvaluator, DemoEvaluationCache cache, Func<ICheckpoint, ICheckpoint> keep, Action<string> report, CancellationToken cancel)
    {
        for (int i = 0; i < candidates.Count; i++) cache.Seed(GreedySoup.IngredientKey(i).ToString(), heldOut[i]);
        using var builder = new InMemorySoupBuilder(candidates);
        var greedy = GreedySoup.Run(builder, heldOutEvaluator, new GreedyOptions
        {
            Rule = AcceptRule.GreaterOrEqual,
            OnEvaluated = (key, label, r, replayed) =>
            {
                if (key.Kind == EvaluationKind.Soup)
                    report(string.Create(CultureInfo.InvariantCulture, $"{label}: held-out {r.Score:P2}{(replayed ? " (reused)" : "")}"));
            },
        }, cache, cancel);
        return (greedy, greedy.Members.Count == 1 ? null : keep(builder.CurrentSoup()));
    }
}
