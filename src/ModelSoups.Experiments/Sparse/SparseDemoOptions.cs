using ModelSoups.TorchSharp.Data;

using ModelSoups.TorchSharp.Sparse;

namespace ModelSoups.Experiments.Sparse;

/// <summary>
/// Settings of <see cref="SparseDemo.Run"/> (<c>soup demo --sparse [--quick] --out DIR</c>). The null members take the
/// default or quick values documented on <see cref="SparseDemo"/>; set them to shrink the run (tests) or to change it.
/// </summary>
public sealed record SparseDemoOptions
{
    /// <summary>The demo folder; the sparse part goes to <c>DIR/sparse/</c>.</summary>
    public required string Out { get; init; }
    /// <summary>The quick run (≈ 3 minutes on 2 cores) instead of the default (≈ 15).</summary>
    public bool Quick { get; init; }
    /// <summary>The data: <c>fashion-mnist</c> (the main demo's), or a dataset file or folder.</summary>
    public string Data { get; init; } = DatasetSplits.FashionMnistName;
    /// <summary>Replaces the default <see cref="ShiftSparseScorer"/> (the main demo's corruption suite).</summary>
    public ISparseScorer? Scorer { get; init; }
    /// <summary>Steps of the dense training that makes the model to sparsify.</summary>
    public int? DenseSteps { get; init; }
    /// <summary>Steps of one retrain.</summary>
    public int? RetrainSteps { get; init; }
    /// <summary>Prune–retrain phases.</summary>
    public int? Phases { get; init; }
    /// <summary>Ingredients per phase.</summary>
    public int? Ingredients { get; init; }
    /// <summary>Goal sparsity.</summary>
    public double? Sparsity { get; init; }
    /// <summary>Held-out/test images scored (seeded sample).</summary>
    public int? EvaluationLimit { get; init; }
    /// <summary>Batches of BatchNorm recalibration per soup.</summary>
    public int? RecalibrationBatches { get; init; }
    /// <summary>Training batch size.</summary>
    public int? BatchSize { get; init; }
}
