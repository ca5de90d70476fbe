using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelSoups.Pleas;

/// <summary>
/// <c>pleas.json</c>: what a PLeaS run measured — accuracy against merged size for the two originals, their ensemble,
/// naive averaging, permute-then-average (weight and activation matching) and PLeaS at one or more budgets — and how
/// the merged model of each budget is laid out. Written by <c>soup pleas</c> and <c>soup demo --pleas</c>.
/// </summary>
public sealed record PleasResults
{
    /// <summary>File name.</summary>
    public const string FileName = "pleas.json";

    /// <summary>A title for the run (e.g. "shared label space").</summary>
    [JsonPropertyName("title")] public required string Title { get; init; }
    /// <summary>The architecture of both models.</summary>
    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    /// <summary><c>shared</c> or <c>separate</c>.</summary>
    [JsonPropertyName("label_space")] public required string LabelSpace { get; init; }
    /// <summary>Matching used by PLeaS: <c>weight</c> or <c>activation</c>.</summary>
    [JsonPropertyName("matching")] public required string Matching { get; init; }
    /// <summary>Unlabelled training images used for matching and least squares.</summary>
    [JsonPropertyName("samples")] public required int Samples { get; init; }
    /// <summary>
    /// Where the unlabelled images for matching, least squares and BatchNorm statistics came from, when not the task's own
    /// training images (the data-free variant: another dataset, or synthetic noise); null: the task's training images.
    /// </summary>
    [JsonPropertyName("features")] public string? Features { get; init; }
    /// <summary>Relative ridge term λ of the least squares.</summary>
    [JsonPropertyName("ridge")] public required double Ridge { get; init; }
    /// <summary>What the accuracies were measured on.</summary>
    [JsonPropertyName("evaluation")] public required string Evaluation { get; init; }
    /// <summary>Effective parameters of one original model.</summary>
    [JsonPropertyName("one_model_parameters")] public required long OneModelParameters { get; init; }
    /// <summary>Every measured model.</summary>
    [JsonPropertyName("rows")] public required IReadOnlyList<PleasRow> Rows { get; init; }
    /// <summary>Per PLeaS budget, the merged layout of each group.</summary>
    [JsonPropertyName("layouts")] public IReadOnlyList<PleasLayout> Layouts { get; init; } = [];
    /// <summary>Wall time of the run in seconds.</summary>
    [JsonPropertyName("seconds")] public double Seconds { get; init; }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <c>pleas.json</c>.</summary>
    public static PleasResults Read(string path) => JsonFile.Read<PleasResults>(path, Json, FileName);
}

/// <summary>One measured model.</summary>
/// <param name="Method">E.g. <c>model A</c>, <c>ensemble</c>, <c>naive average</c>, <c>permute+average (weight matching)</c>, <c>PLeaS</c>.</param>
/// <param name="Budget">PLeaS's budget; null for the others.</param>
/// <param name="Parameters">Effective parameters (structural zeros excluded; the ensemble counts both models).</param>
/// <param name="Accuracy">Top-1 accuracy; with separate label spaces, the mean of the two tasks' accuracies.</param>
/// <param name="TaskA">Separate label spaces: accuracy on A's classes with A's head (null where the model has none).</param>
/// <param name="TaskB">Separate label spaces: accuracy on B's classes with B's head.</param>
/// <param name="Path">The checkpoint folder, when one was written.</param>
public sealed record PleasRow(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("budget")] double? Budget,
    [property: JsonPropertyName("parameters")] long Parameters,
    [property: JsonPropertyName("accuracy")] double Accuracy,
    [property: JsonPropertyName("task_a")] double? TaskA = null,
    [property: JsonPropertyName("task_b")] double? TaskB = null,
    [property: JsonPropertyName("path")] string? Path = null);

/// <summary>The merged layout at one budget.</summary>
/// <param name="Budget">The budget.</param>
/// <param name="Groups">Per hidden group: name, units per model, merged pairs, units kept from each model.</param>
public sealed record PleasLayout(
    [property: JsonPropertyName("budget")] double Budget,
    [property: JsonPropertyName("groups")] IReadOnlyList<PleasGroupLayout> Groups);

/// <summary>One group's merged layout.</summary>
/// <param name="Name">Group (layer) name.</param>
/// <param name="Units">Units per original model.</param>
/// <param name="Merged">Merged pairs.</param>
/// <param name="Kept">Units kept from each model.</param>
public sealed record PleasGroupLayout(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("units")] int Units,
    [property: JsonPropertyName("merged")] int Merged,
    [property: JsonPropertyName("kept")] int Kept);
