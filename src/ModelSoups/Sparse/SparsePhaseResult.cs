using System.Text.Json.Serialization;

namespace ModelSoups.Sparse;

/// <summary>One phase of <c>results.json</c>.</summary>
public sealed record SparsePhaseResult
{
    /// <summary>1-based phase.</summary>
    [JsonPropertyName("phase")] public required int Phase { get; init; }
    /// <summary>Measured sparsity of the soup that starts the next phase: its zeros among the prunable weights / their count.</summary>
    [JsonPropertyName("sparsity")] public required double Sparsity { get; init; }
    /// <summary>1 − (1 − q)^p.</summary>
    [JsonPropertyName("target_sparsity")] public required double TargetSparsity { get; init; }
    /// <summary>Pruned weights (the mask).</summary>
    [JsonPropertyName("pruned")] public required long Pruned { get; init; }
    /// <summary>Prunable weights.</summary>
    [JsonPropertyName("prunable")] public required long Prunable { get; init; }
    /// <summary>Every model of the phase: ingredients, both soups, IMP.</summary>
    [JsonPropertyName("rows")] public required IReadOnlyList<SparseRow> Rows { get; init; }
    /// <summary>The soup that starts the next phase, relative to the folder of <c>results.json</c>.</summary>
    [JsonPropertyName("soup_path")] public required string SoupPath { get; init; }
    /// <summary>Ingredient names in the greedy soup, in join order.</summary>
    [JsonPropertyName("greedy_members")] public required IReadOnlyList<string> GreedyMembers { get; init; }
}
