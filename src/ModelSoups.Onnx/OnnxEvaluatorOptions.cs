namespace ModelSoups.Onnx;

/// <summary>Settings of an <see cref="OnnxEvaluator"/>.</summary>
public sealed record OnnxEvaluatorOptions
{
    /// <summary>Name of the inputs tensor in the data checkpoint: [examples, …] floats.</summary>
    public string InputsTensor { get; init; } = "inputs";

    /// <summary>Name of the labels tensor in the data checkpoint: [examples] integers (class indices).</summary>
    public string LabelsTensor { get; init; } = "labels";

    /// <summary>The graph input fed with the data; null: the first graph input that is not an initializer.</summary>
    public string? InputName { get; init; }

    /// <summary>The graph output read as logits [batch, classes]; null: the first graph output.</summary>
    public string? OutputName { get; init; }

    /// <summary>Examples per run; ignored when the graph fixes its batch dimension (then that size is used, the last batch padded).</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Checkpoint → initializer names; null: identical names.</summary>
    public OnnxNameMap? NameMap { get; init; }

    /// <summary>Run on CUDA (device <see cref="CudaDevice"/>) instead of the CPU; fails clearly when unavailable.</summary>
    public bool UseCuda { get; init; }

    /// <summary>CUDA device index.</summary>
    public int CudaDevice { get; init; }

    /// <summary>ONNX Runtime graph optimisation; all optimisations by default (safe: weights are rewritten into the model, not overridden).</summary>
    public Microsoft.ML.OnnxRuntime.GraphOptimizationLevel Optimization { get; init; } = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL;
}
