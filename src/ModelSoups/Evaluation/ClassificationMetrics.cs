namespace ModelSoups.Evaluation;

/// <summary>
/// Classification metrics from logits, as the model-soups paper reports them: top-1 accuracy
/// (the score), top-5 accuracy (when there are at least 5 classes) and mean cross-entropy loss.
/// Ties rank the lower class index first, matching argmax's first-maximum rule.
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>Metric names used in <see cref="EvaluationResult.Metrics"/>.</summary>
    public const string Top1 = "top1", Top5 = "top5", Loss = "loss", Examples = "examples";

    /// <summary>Computes the metrics of row-major <paramref name="logits"/> [labels.Length × classes].</summary>
    public static EvaluationResult Compute(float[] logits, int[] labels, int classes)
    {
        int n = labels.Length;
        if (classes <= 0 || logits.Length != (long)n * classes)
            throw new ArgumentException($"{logits.Length} logits for {n} labels × {classes} classes.");
        long top1 = 0, top5 = 0;
        double loss = 0;
        for (int e = 0; e < n; e++)
        {
            var row = logits.AsSpan(e * classes, classes);
            int y = labels[e];
            float target = row[y];
            // Rank of the label: classes with a greater logit, plus equal ones before it.
            int rank = 0;
            for (int c = 0; c < classes; c++)
                if (row[c] > target || (row[c] == target && c < y)) rank++;
            if (rank == 0) top1++;
            if (rank < 5) top5++;
            // Cross-entropy −log softmax(row)[y], via log-sum-exp around the max (in double).
            double max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            double sum = 0;
            foreach (var v in row) sum += Math.Exp(v - max);
            loss += max + Math.Log(sum) - target;
        }
        var metrics = new Dictionary<string, double>
        {
            [Top1] = n == 0 ? 0 : (double)top1 / n,
            [Loss] = n == 0 ? 0 : loss / n,
            [Examples] = n,
        };
        if (classes >= 5) metrics[Top5] = n == 0 ? 0 : (double)top5 / n;
        return new EvaluationResult(metrics[Top1], metrics, logits, labels);
    }
}
