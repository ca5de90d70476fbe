namespace ModelSoups.Evaluation;

/// <summary>
/// What an evaluator says about one candidate. <paramref name="Score"/> is the number greedy soups
/// maximise (higher is better, e.g. held-out top-1 accuracy); <paramref name="Metrics"/> holds every
/// number the evaluator measured (the score included, under its own name when it has one).
/// <paramref name="Logits"/> is row-major [examples × classes] and <paramref name="Labels"/> the matching
/// labels, both present only for evaluators with <see cref="IEvaluator.ProvidesLogits"/> (ensembles need them).
/// </summary>
public sealed record EvaluationResult(
    double Score,
    IReadOnlyDictionary<string, double> Metrics,
    float[]? Logits = null,
    int[]? Labels = null)
{
    private static readonly IReadOnlyDictionary<string, double> NoMetrics = new Dictionary<string, double>();

    /// <summary>A result with a score and no other metric.</summary>
    public static EvaluationResult FromScore(double score) => new(score, NoMetrics);

    /// <summary>Number of classes of <see cref="Logits"/> (0 when there are none).</summary>
    public int ClassCount => Logits is null || Labels is null || Labels.Length == 0 ? 0 : Logits.Length / Labels.Length;
}
