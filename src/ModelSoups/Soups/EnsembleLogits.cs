using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>
/// The logit ensemble baseline of Wortsman et al. (2022): the mean of the ingredients' logits, then argmax.
/// Keeps a running f64 sum (not every ingredient's logits), so memory is one [examples × classes] array.
/// </summary>
public sealed class EnsembleLogits
{
    private readonly HashSet<int> _added = [];
    private double[]? _sum;
    private int[]? _labels;

    /// <summary>Ingredients added.</summary>
    public int Count => _added.Count;

    /// <summary>Whether ingredient <paramref name="index"/> was added.</summary>
    public bool Has(int index) => _added.Contains(index);

    /// <summary>Adds ingredient <paramref name="index"/>'s logits (once; a second add is ignored).</summary>
    public void Add(int index, EvaluationResult result, string name)
    {
        if (result.Logits is null || result.Labels is null)
            throw new EvaluationException(name, $"the evaluator returned no logits for '{name}', so the ensemble cannot be computed.");
        if (!_added.Add(index)) return;
        if (_sum is null)
        {
            _sum = new double[result.Logits.Length];
            _labels = result.Labels;
        }
        else if (_sum.Length != result.Logits.Length || !_labels!.AsSpan().SequenceEqual(result.Labels))
            throw new EvaluationException(name, $"the logits of '{name}' do not match the other ingredients' in shape or labels.");
        for (int i = 0; i < _sum.Length; i++) _sum[i] += result.Logits[i];
    }

    /// <summary>Top-1 accuracy (and loss, top-5) of the mean logits (<see cref="ClassificationMetrics"/>).</summary>
    public EvaluationResult Evaluate()
    {
        if (_sum is null || _labels is null || Count == 0) throw new ModelSoupsException("the ensemble has no ingredients with logits.");
        var mean = new float[_sum.Length];
        for (int i = 0; i < mean.Length; i++) mean[i] = (float)(_sum[i] / Count);
        int classes = _labels.Length == 0 ? 1 : mean.Length / _labels.Length;
        var r = ClassificationMetrics.Compute(mean, _labels, classes);
        return new EvaluationResult(r.Score, r.Metrics);
    }
}
