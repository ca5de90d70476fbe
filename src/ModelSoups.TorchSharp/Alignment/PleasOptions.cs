using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>Settings of a PLeaS run (<see cref="PleasMerge.Run"/>).</summary>
public sealed record PleasOptions
{
    /// <summary>Checkpoint folder of model A (the reference whose unit order is kept).</summary>
    public required string ModelA { get; init; }
    /// <summary>Checkpoint folder of model B (same architecture; any initialisation).</summary>
    public required string ModelB { get; init; }
    /// <summary>
    /// Unlabelled images for matching, least squares and BatchNorm statistics (labels are not read): the task's training
    /// images, or — the data-free variant — images of another domain (<see cref="FeatureSource"/> says which).
    /// </summary>
    public required ImageDataset Train { get; init; }
    /// <summary>What <see cref="Train"/> is when it is not the task's training data (e.g. <c>synthetic noise</c>); null: the task's images.</summary>
    public string? FeatureSource { get; init; }
    /// <summary>Labelled images every model is scored on.</summary>
    public required ImageDataset Evaluation { get; init; }
    /// <summary>What <see cref="Evaluation"/> is, for the report.</summary>
    public required string EvaluationDescription { get; init; }
    /// <summary>Output folder: one checkpoint folder per budget, and <c>pleas.json</c>.</summary>
    public required string Out { get; init; }
    /// <summary>Budgets β ∈ [1, 2] (merged size as a multiple of one model's).</summary>
    public IReadOnlyList<double> Budgets { get; init; } = [1.0];
    /// <summary>Training images used (PLeaS: a small unlabelled set).</summary>
    public int Samples { get; init; } = 1000;
    /// <summary>Default of <see cref="BatchSize"/>.</summary>
    public const int DefaultBatchSize = 250;
    /// <summary>Images per forward pass (and per BatchNorm recalibration batch).</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;
    /// <summary>The matching PLeaS builds on.</summary>
    public AlignmentMethod Matching { get; init; } = AlignmentMethod.Activation;
    /// <summary>Shared head, or each model's own head on the merged body.</summary>
    public LabelSpace LabelSpace { get; init; } = LabelSpace.Shared;
    /// <summary>Relative ridge term of the least squares (<see cref="MaskedRidge"/>).</summary>
    public double Ridge { get; init; } = 1e-4;
    /// <summary>Training batches that recompute BatchNorm statistics of every merged model (0: off).</summary>
    public int RecalibrationBatches { get; init; } = 20;
    /// <summary>Seed of the image sample and of weight matching's order.</summary>
    public ulong Seed { get; init; }
    /// <summary>Also measure the originals, the ensemble, naive averaging and permute-then-average.</summary>
    public bool Baselines { get; init; } = true;
    /// <summary>Title of the run in the report.</summary>
    public string Title { get; init; } = "PLeaS";
    /// <summary>Replace an existing output folder.</summary>
    public bool Overwrite { get; init; }
}
