using ModelSoups.Checkpoints;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// The default <see cref="ISparseScorer"/>: the main demo's evaluation (<see cref="ShiftEvaluator"/> over
/// <see cref="ShiftEvaluationSets"/>), so the sparse table's OOD column is the same corruption suite as the soups table:
/// held-out, test and the five corruptions of <see cref="Corruptions"/> at the demo's severity, OOD = their mean
/// (Wortsman et al. 2022, Table 3). A dataset without a test split is corrupted from its held-out split and reports no
/// test accuracy. The run recalibrates soups before scoring, so no recalibration happens here.
/// </summary>
public sealed class ShiftSparseScorer : ISparseScorer, IDisposable
{
    readonly Dictionary<string, ShiftEvaluator> _evaluators = new(StringComparer.Ordinal);
    readonly int _batchSize;
    readonly bool _hasTest;

    /// <param name="sets">The evaluation sets.</param>
    /// <param name="hasTest">False when <see cref="ShiftEvaluationSets.Test"/> is a stand-in (then no test accuracy is reported).</param>
    /// <param name="batchSize">Inference batch size.</param>
    public ShiftSparseScorer(ShiftEvaluationSets sets, bool hasTest = true, int batchSize = 256)
    {
        Sets = sets; _hasTest = hasTest; _batchSize = batchSize;
        Description = $"the soups demo's suite: {sets.Description}; OOD = mean over {string.Join(", ", sets.Shifts.Select(s => s.Name))}";
    }

    /// <summary>
    /// The main demo's suite over <paramref name="data"/>: at most <paramref name="limit"/> held-out and test images and
    /// corrupted test images (null: all), at the soups demo's severity (<see cref="ShiftEvaluationSets.DefaultSeverity"/>) and seed 0.
    /// </summary>
    public static ShiftSparseScorer ForDemo(DatasetSplits data, int? limit, int batchSize = 256)
    {
        bool hasTest = data.Test is not null;
        var splits = hasTest ? data : data with { Test = data.HeldOut };
        return new ShiftSparseScorer(ShiftEvaluationSets.Create(splits, limit, limit, limit, ShiftEvaluationSets.DefaultSeverity, seed: 0), hasTest, batchSize);
    }

    /// <summary>The sets scored.</summary>
    public ShiftEvaluationSets Sets { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public SparseScores Score(ICheckpoint checkpoint, ModelSpec spec, CancellationToken cancel = default)
    {
        var key = spec.ToJson();
        if (!_evaluators.TryGetValue(key, out var evaluator))
            _evaluators[key] = evaluator = new ShiftEvaluator(spec, Sets, batchSize: _batchSize);
        var s = evaluator.Evaluate(checkpoint, cancel: cancel);
        return new SparseScores(s.HeldOut, _hasTest ? s.Test : null, s.Ood);
    }

    /// <summary>Releases the evaluators' modules.</summary>
    public void Dispose()
    {
        foreach (var e in _evaluators.Values) e.Dispose();
        _evaluators.Clear();
    }
}
