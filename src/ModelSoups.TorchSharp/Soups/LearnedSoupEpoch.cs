using System.Text.Json.Serialization;

namespace ModelSoups.TorchSharp.Soups;

/// <summary>One epoch of learned-soup training: mean loss and accuracy of the soup on the held-out batches it saw.</summary>
public sealed record LearnedSoupEpoch(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("loss")] double Loss,
    [property: JsonPropertyName("accuracy")] double Accuracy);
