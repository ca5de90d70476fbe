using ModelSoups.Soups;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>Settings of <see cref="SparseSoup.Run"/> (the library side of <c>soup sparse</c>).</summary>
public sealed record SparseSoupOptions
{
    /// <summary>The dense (or already sparse) starting model: a folder with weights and <c>soup-model.json</c>.</summary>
    public required string Base { get; init; }
    /// <summary>Training data (retraining, BatchNorm recalibration) and the held-out/test splits (scores, greedy choice).</summary>
    public required DatasetSplits Data { get; init; }
    /// <summary>
    /// Output folder: <c>phase-P/…</c>, <c>results.json</c> (the callers add <c>report.md</c>, <c>report.html</c>). A rerun
    /// into it resumes: a phase whose <c>phase.json</c> carries the current settings' fingerprint is reused.
    /// </summary>
    public required string Out { get; init; }
    /// <summary>What a rerun does with the phases an earlier run finished in <see cref="Out"/> (default: reuse those made with the same settings, refuse the others).</summary>
    public SparseResume Resume { get; init; } = SparseResume.Resume;
    /// <summary>Goal sparsity S of the prunable weights after the last phase.</summary>
    public double Sparsity { get; init; } = 0.9;
    /// <summary>Prune–retrain phases T.</summary>
    public int Phases { get; init; } = 3;
    /// <summary>Ingredients m retrained per phase.</summary>
    public int Ingredients { get; init; } = 4;
    /// <summary>The hyperparameter the ingredients differ in (see <see cref="SparseVariation"/>).</summary>
    public string Vary { get; init; } = "data_seed";
    /// <summary>One value of <see cref="Vary"/> per ingredient; null for the defaults.</summary>
    public IReadOnlyList<string>? Values { get; init; }
    /// <summary>
    /// Retraining of one ingredient (IMP's single retrain per phase is scaled by <see cref="ImpBudget"/>). The SMS schedule: linear warm-up over the first 10 % of the steps to the peak rate, then linear decay to 0.
    /// </summary>
    public TrainingHyperparameters Retrain { get; init; } = new() { Schedule = "linear", Warmup = 0.1, Steps = 200, WeightDecay = 1e-4, LearningRate = 1e-3 };
    /// <summary>IMP's retrain length per phase: the soup's total compute (default) or one ingredient's.</summary>
    public ImpBudget ImpBudget { get; init; } = ImpBudget.TotalCompute;
    /// <summary>Global magnitude pruning (default) or per-layer uniform.</summary>
    public PruningScope Scope { get; init; } = PruningScope.Global;
    /// <summary>Which soup starts the next phase; both soups are measured every phase.</summary>
    public SparseSoupMerge Merge { get; init; } = SparseSoupMerge.Uniform;
    /// <summary>Greedy soup accept rule (≥, as the SMS code).</summary>
    public AcceptRule Accept { get; init; } = AcceptRule.GreaterOrEqual;
    /// <summary>Training batches used to recalibrate a soup's BatchNorm statistics (0: none).</summary>
    public int RecalibrationBatches { get; init; } = 20;
    /// <summary>Batch size of recalibration and evaluation.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Scores the models for the report; null: <see cref="ShiftSparseScorer.ForDemo"/> over <see cref="Data"/> (the soups demo's corruption suite).</summary>
    public ISparseScorer? Scorer { get; init; }
    /// <summary>Held-out and test images scored (a seeded sample), and held-out images the greedy soup chooses on; null: all.</summary>
    public int? EvaluationLimit { get; init; }
    /// <summary>Training-curve resolution.</summary>
    public int LogEvery { get; init; } = 10;
}
