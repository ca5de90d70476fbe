using System.Text.Json.Serialization;

namespace ModelSoups.TorchSharp.Training;

/// <summary>Mean training loss over the steps since the previous point, and the learning rate at <paramref name="Step"/>.</summary>
public sealed record TrainingCurvePoint(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("loss")] double Loss,
    [property: JsonPropertyName("lr")] double LearningRate);
