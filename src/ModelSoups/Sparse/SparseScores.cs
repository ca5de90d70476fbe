using System.Text.Json.Serialization;

namespace ModelSoups.Sparse;

/// <summary>One model's top-1 accuracies: held-out (the soups choose on it), test, and out-of-distribution; null where the data has no such split.</summary>
public sealed record SparseScores(
    [property: JsonPropertyName("heldout")] double HeldOut,
    [property: JsonPropertyName("test")] double? Test,
    [property: JsonPropertyName("ood")] double? Ood);
