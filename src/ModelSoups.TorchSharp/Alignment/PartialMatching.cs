namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// Partial matching to a size budget (PLeaS §3.2). After alignment, pair i of a group is (unit i of A, unit i of aligned B)
/// with a matching score (the correlation of their activations). Budget β ∈ [1, 2] is the merged model's effective parameter
/// count (<see cref="ChainParameters"/>: structural zeros excluded) as a multiple of the fully merged model's
/// (β = 1: every pair merged, one model's size; β = 2: nothing merged, both models side by side).
/// Rule implemented: one global ranking of all pairs of all groups by score, worst first; a pair is split (its two units
/// kept separately, widening the group by one) when the model still fits the budget, else skipped, so the layers whose
/// units match worst are widened most. The reference code takes a per-layer ratio (the same fraction of each layer,
/// chosen by quantile of the matching cost); the global ranking spends the budget where merging would lose most, and
/// the count lands within one unit of every layer's budget.
/// </summary>
public static class PartialMatching
{
    /// <summary>The merge plan for <paramref name="budget"/>; <paramref name="scores"/>[g][i] is pair i's score in group g (higher: better match).</summary>
    public static MergePlan Plan(IMergeNetwork chain, PermutationSpec spec, IReadOnlyList<double[]> scores, double budget,
        int inputs, GroupPlan head, LabelSpace labelSpace)
    {
        CheckBudget(budget);
        int groups = spec.Groups.Count;
        if (scores.Count != groups) throw new ArgumentException($"{scores.Count} score vectors for {groups} groups", nameof(scores));
        var counts = spec.Groups.Select(g => new UnitCounts(g.Size, 0, 0)).ToArray();
        var headCounts = UnitCounts.Of(head);
        long full = ChainParameters.Count(chain, inputs, counts, headCounts);
        double target = budget * full;
        var split = spec.Groups.Select(g => new bool[g.Size]).ToArray();
        var order = Enumerable.Range(0, groups).SelectMany(g => Enumerable.Range(0, spec.Groups[g].Size).Select(i => (g, i)))
            .OrderBy(p => scores[p.g][p.i]).ThenBy(p => p.g).ThenBy(p => p.i);
        foreach (var (g, i) in order)
        {
            var before = counts[g];
            counts[g] = new UnitCounts(before.Merged - 1, before.KeptA + 1, before.KeptB + 1);
            if (ChainParameters.Count(chain, inputs, counts, headCounts) <= target) split[g][i] = true;
            else counts[g] = before;
        }
        var plans = new List<GroupPlan>();
        for (int g = 0; g < groups; g++)
        {
            var kept = Enumerable.Range(0, spec.Groups[g].Size).Where(i => split[g][i]).ToArray();
            plans.Add(new GroupPlan(spec.Groups[g].Name, Enumerable.Range(0, spec.Groups[g].Size).Where(i => !split[g][i]).ToArray(), kept, kept));
        }
        return new MergePlan(plans, head, labelSpace);
    }

    /// <summary>Budget must lie in [1, 2].</summary>
    public static void CheckBudget(double budget)
    {
        if (!(budget >= 1.0 && budget <= 2.0))
            throw new ModelSoupsException($"--budget must be between 1.0 (one model's size) and 2.0 (both models), not {budget}");
    }
}
