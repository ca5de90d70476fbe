using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>
/// Greedy soup (Wortsman et al. 2022, Recipe 1): rank ingredients by held-out score, start the soup
/// with the best, then try each next one in rank order and keep it when the uniform mean of
/// soup ∪ {it} scores ≥ the soup (or &gt;, <see cref="AcceptRule.Greater"/>, as the official code does).
/// Cost: k ingredient evaluations + (k − 1) candidate evaluations. Tensor work is the builder's;
/// caching and resuming are the store's; this class only decides.
/// </summary>
public static class GreedySoup
{
    private static readonly IReadOnlyDictionary<string, double> NoMetrics = new Dictionary<string, double>();

    /// <summary>Key of ingredient <paramref name="index"/>'s own evaluation.</summary>
    public static EvaluationKey IngredientKey(int index) => EvaluationKey.Ingredient(index);

    /// <summary>Key of the uniform mean of <paramref name="members"/> (order-free).</summary>
    public static EvaluationKey SoupKey(IEnumerable<int> members) => EvaluationKey.Soup(members);

    /// <summary>Runs the greedy soup. Evaluations found in <paramref name="store"/> are replayed, not rerun.</summary>
    public static GreedyResult Run(ISoupBuilder builder, IEvaluator evaluator, GreedyOptions? options = null,
        IEvaluationStore? store = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(evaluator);
        options ??= new GreedyOptions();
        var names = builder.IngredientNames;
        int k = names.Count;
        if (k == 0) throw new ModelSoupsException("a greedy soup needs at least one ingredient.");
        bool needsFolder = evaluator.NeedsFolder;

        var ingredients = new IngredientScore[k];
        for (int i = 0; i < k; i++)
        {
            var (r, error) = Evaluate(IngredientKey(i), names[i], () => builder.Ingredient(i, needsFolder));
            ingredients[i] = r is null
                ? new IngredientScore(i, names[i], double.NaN, NoMetrics, error)
                : new IngredientScore(i, names[i], r.Score, r.Metrics);
        }

        // Stable sort: equal scores keep the caller's order, so the result is deterministic.
        var ranking = Enumerable.Range(0, k).Where(i => ingredients[i].Error is null).OrderByDescending(i => ingredients[i].Score).ToArray();
        if (ranking.Length == 0)
            throw new ModelSoupsException($"every ingredient failed to evaluate; the first error: {ingredients[0].Error}");

        var members = new List<int> { ranking[0] };
        builder.Start(ranking[0]);
        double soupScore = ingredients[ranking[0]].Score;
        var trajectory = new List<GreedyStep>
        {
            new(0, ranking[0], names[ranking[0]], soupScore, true, soupScore, ingredients[ranking[0]].Metrics),
        };

        for (int s = 1; s < ranking.Length; s++)
        {
            int i = ranking[s];
            var key = SoupKey(members.Append(i));
            var label = "soup[" + string.Join(", ", members.Append(i).Select(m => names[m])) + "]";
            var (r, error) = Evaluate(key, label, () => builder.Propose(i, needsFolder));
            if (r is null)
            {
                trajectory.Add(new GreedyStep(s, i, names[i], double.NaN, false, soupScore, NoMetrics, error));
                continue;
            }
            bool accepted = options.Rule switch
            {
                AcceptRule.GreaterOrEqual => r.Score >= soupScore,
                AcceptRule.Greater => r.Score > soupScore,
                _ => throw new ArgumentOutOfRangeException(nameof(options), options.Rule, "unknown accept rule"),
            };
            if (accepted)
            {
                builder.Accept(i);
                members.Add(i);
                soupScore = r.Score;
            }
            trajectory.Add(new GreedyStep(s, i, names[i], r.Score, accepted, soupScore, r.Metrics));
        }
        return new GreedyResult(options.Rule, ingredients, ranking, trajectory, members, soupScore);

        (EvaluationResult?, string?) Evaluate(EvaluationKey key, string label, Func<Candidate> make)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (store is not null && store.TryGet(key.ToString(), out var cached))
            {
                options.OnEvaluated?.Invoke(key, label, cached, true);
                return (cached, null);
            }
            EvaluationResult result;
            try
            {
                var candidate = make();
                result = evaluator.Evaluate(candidate, cancellationToken);
            }
            catch (EvaluationException e) when (options.SkipFailedEvaluations)
            {
                options.OnSkipped?.Invoke(key, label, e);
                return (null, e.UserMessage);
            }
            finally
            {
                builder.Discard();
            }
            if (!double.IsFinite(result.Score))
                throw new EvaluationException(label, $"the evaluator returned a score that is not a finite number for candidate '{label}'.");
            store?.Add(key.ToString(), result);
            options.OnEvaluated?.Invoke(key, label, result, false);
            return (result, null);
        }
    }
}
