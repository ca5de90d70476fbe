using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// <c>ingredient.json</c>, written last (atomically) into a fine-tuned ingredient's folder: how it was trained
/// and what it scored, and the <see cref="Durability.UnitFingerprint"/> digest of everything that determined it. It is
/// the run's result file: written after the model, so a rerun of the sweep reuses the run when it is there with the
/// current fingerprint (and records it in the sweep's <see cref="Durability.UnitJournal"/>).
/// </summary>
public sealed record IngredientRecord
{
    /// <summary>File name inside the ingredient folder.</summary>
    public const string FileName = "ingredient.json";

    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("hyperparameters")] public required TrainingHyperparameters Hyperparameters { get; init; }
    [JsonPropertyName("curve")] public required IReadOnlyList<TrainingCurvePoint> Curve { get; init; }
    /// <summary>Held-out top-1 accuracy (fraction).</summary>
    [JsonPropertyName("heldout")] public required double HeldOut { get; init; }
    [JsonPropertyName("heldout_loss")] public double HeldOutLoss { get; init; }
    [JsonPropertyName("seconds")] public required double Seconds { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; }
    [JsonPropertyName("train_images")] public int TrainImages { get; init; }
    [JsonPropertyName("diverged")] public bool Diverged { get; init; }
    /// <summary>The <see cref="Durability.UnitFingerprint.Digest"/> of the run's settings, start and data (null in records of older soups).</summary>
    [JsonPropertyName("fingerprint")] public string? Fingerprint { get; init; }

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The record of a finished run.</summary>
    public static IngredientRecord From(string name, TrainingHyperparameters hp, TrainingResult r) => new()
    {
        Name = name, Hyperparameters = hp, Curve = r.Curve, HeldOut = r.HeldOut, HeldOutLoss = r.HeldOutLoss,
        Seconds = r.Seconds, Steps = r.Steps, TrainImages = r.TrainImages, Diverged = r.Diverged,
    };

    /// <summary>Reads the record in <paramref name="folder"/>, or null when the run has not finished.</summary>
    public static IngredientRecord? TryRead(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<IngredientRecord>(File.ReadAllText(path), Json)
                ?? throw new ModelSoupsException($"{FileName} is null", path);
        }
        catch (JsonException e)
        {
            throw new ModelSoupsException($"{FileName} is not valid ({e.Message}); delete the folder to retrain this run", path, e);
        }
    }

    /// <summary>Writes the record into <paramref name="folder"/> through <see cref="Durability.AtomicFile"/>, so it is never seen half-written.</summary>
    public void Write(string folder) =>
        Durability.AtomicFile.Write(Path.Combine(folder, FileName), fs => JsonSerializer.Serialize(fs, this, Json));
}
