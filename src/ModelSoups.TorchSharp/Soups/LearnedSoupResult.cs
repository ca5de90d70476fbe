using System.Text.Json.Serialization;
using ModelSoups.Checkpoints;

namespace ModelSoups.TorchSharp.Soups;

/// <summary>A learned soup: the mixed weights and what was learned.</summary>
public sealed record LearnedSoupResult
{
    /// <summary>Σ softmax(α)_i θ_i per float tensor (integer tensors from the first ingredient), in the ingredients' dtypes.</summary>
    [JsonIgnore] public required ICheckpoint Soup { get; init; }
    /// <summary>Ingredient names, in α column order.</summary>
    [JsonPropertyName("ingredients")] public required IReadOnlyList<string> Ingredients { get; init; }
    /// <summary>Tensor names of the α rows (one row named "*" for a global soup).</summary>
    [JsonPropertyName("tensors")] public required IReadOnlyList<string> Tensors { get; init; }
    /// <summary>softmax(α): one row per entry of <see cref="Tensors"/>, one column per ingredient.</summary>
    [JsonPropertyName("alpha")] public required IReadOnlyList<double[]> Alpha { get; init; }
    /// <summary>The learned logit temperature β (it scales logits only; the saved weights do not include it).</summary>
    [JsonPropertyName("beta")] public required double Beta { get; init; }
    [JsonPropertyName("by_layer")] public required bool ByLayer { get; init; }
    [JsonPropertyName("curve")] public required IReadOnlyList<LearnedSoupEpoch> Curve { get; init; }
    [JsonPropertyName("examples")] public required int Examples { get; init; }
    [JsonPropertyName("seconds")] public required double Seconds { get; init; }

    /// <summary>
    /// The record as JSON (everything but the soup's weights). Serialised through a plain dictionary:
    /// System.Text.Json refuses types with a required member it is told to ignore.
    /// </summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["ingredients"] = Ingredients,
        ["tensors"] = Tensors,
        ["alpha"] = Alpha,
        ["beta"] = Beta,
        ["by_layer"] = ByLayer,
        ["curve"] = Curve,
        ["examples"] = Examples,
        ["seconds"] = Seconds,
    }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
}
