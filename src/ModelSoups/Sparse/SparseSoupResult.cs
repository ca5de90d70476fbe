using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelSoups.Sparse;

/// <summary>
/// <c>results.json</c> of a sparse run: <c>{"target_sparsity": S, "phases": [{"phase", "sparsity", "rows": [{"method",
/// "heldout", "test", "ood"}], "soup_path", …}], …}</c>.
/// </summary>
public sealed record SparseSoupResult
{
    /// <summary>File name in the output folder.</summary>
    public const string FileName = "results.json";

    [JsonPropertyName("target_sparsity")] public required double TargetSparsity { get; init; }
    [JsonPropertyName("phases")] public required IReadOnlyList<SparsePhaseResult> Phases { get; init; }
    /// <summary><c>soup-model.json</c> description of the architecture.</summary>
    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    /// <summary>What the ingredients differ in, and how (e.g. <c>data_seed</c>).</summary>
    [JsonPropertyName("vary")] public required string Vary { get; init; }
    /// <summary><c>uniform</c> or <c>greedy</c>: the soup that starts each next phase.</summary>
    [JsonPropertyName("merge")] public required string Merge { get; init; }
    /// <summary><c>global</c> or <c>per-layer</c>.</summary>
    [JsonPropertyName("pruning")] public required string Pruning { get; init; }
    /// <summary>IMP's retrain per phase: <c>total_compute</c> (m × one ingredient's) or <c>retrain_length</c> (one ingredient's).</summary>
    [JsonPropertyName("imp_budget")] public string ImpBudget { get; init; } = "total_compute";
    /// <summary>The retraining of one ingredient, described.</summary>
    [JsonPropertyName("retrain")] public required string Retrain { get; init; }
    /// <summary>What the scores measure.</summary>
    [JsonPropertyName("scorer")] public required string Scorer { get; init; }
    /// <summary>Wall-clock seconds of the run.</summary>
    [JsonPropertyName("seconds")] public required double Seconds { get; init; }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The result as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <c>results.json</c>.</summary>
    public static SparseSoupResult Read(string path) => JsonFile.Read<SparseSoupResult>(path, Json, FileName);
}
