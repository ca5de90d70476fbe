namespace ModelSoups.TorchSharp.Evaluation;

/// <summary>Settings of <see cref="TorchEvaluator.FromOptions"/>, as the CLI's <c>--torch-model</c>, <c>--data</c>, <c>--eval-split</c>, <c>--recalibrate-bn</c> give them.</summary>
public sealed record TorchEvaluatorOptions
{
    /// <summary>An architecture name (<c>resnet18-imagenet</c>, <c>cnn</c>, <c>mlp</c>), a <c>soup-model.json</c> file, or a folder holding one.</summary>
    public required string Model { get; init; }
    /// <summary><c>fashion-mnist</c>, a dataset <c>.safetensors</c> file or a dataset folder.</summary>
    public required string Data { get; init; }
    /// <summary><c>heldout</c> (the held-out part of the training set; soups choose on it) or <c>test</c>.</summary>
    public string Split { get; init; } = "heldout";
    /// <summary>Recalibrate BatchNorm statistics on this many training batches before each evaluation (0: no).</summary>
    public int RecalibrateBatches { get; init; }
    /// <summary>Evaluation and recalibration batch size.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Evaluate a seeded sample of at most this many examples (the same sample as <c>soup finetune --subset</c>).</summary>
    public int? Limit { get; init; }
    /// <summary>Model input side when <see cref="Model"/> is an architecture name.</summary>
    public int? ImageSize { get; init; }
}
