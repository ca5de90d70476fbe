using System.Text.Json.Serialization;

namespace ModelSoups.TorchSharp.Training;

/// <summary>What one fine-tuning run measured.</summary>
public sealed record TrainingResult
{
    [JsonPropertyName("curve")] public required IReadOnlyList<TrainingCurvePoint> Curve { get; init; }
    /// <summary>Held-out top-1 accuracy (fraction) after training.</summary>
    [JsonPropertyName("heldout")] public required double HeldOut { get; init; }
    /// <summary>Held-out mean cross-entropy.</summary>
    [JsonPropertyName("heldout_loss")] public required double HeldOutLoss { get; init; }
    [JsonPropertyName("steps")] public required int Steps { get; init; }
    [JsonPropertyName("train_images")] public required int TrainImages { get; init; }
    /// <summary>Wall-clock seconds of training and held-out evaluation.</summary>
    [JsonPropertyName("seconds")] public required double Seconds { get; init; }
    /// <summary>True when the loss became NaN or infinite (the run is kept; soups will reject it).</summary>
    [JsonPropertyName("diverged")] public bool Diverged { get; init; }
}
