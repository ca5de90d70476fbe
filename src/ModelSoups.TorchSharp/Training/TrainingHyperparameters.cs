using System.Globalization;
using System.Text.Json.Serialization;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// Everything that distinguishes one fine-tuning run from another (the axes of a model-soup sweep:
/// Wortsman et al. 2022 vary learning rate, weight decay, epochs, label smoothing, augmentation and seed).
/// JSON/YAML keys are the snake_case names below.
/// </summary>
public sealed record TrainingHyperparameters
{
    /// <summary><c>adamw</c> (decoupled weight decay, Loshchilov &amp; Hutter 2019) or <c>sgd</c> (with momentum).</summary>
    [JsonPropertyName("optimizer")] public string Optimizer { get; init; } = "adamw";
    /// <summary>Peak learning rate.</summary>
    [JsonPropertyName("lr")] public double LearningRate { get; init; } = 3e-4;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.1;
    /// <summary>SGD momentum (ignored by AdamW).</summary>
    [JsonPropertyName("momentum")] public double Momentum { get; init; } = 0.9;
    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 1;
    /// <summary>Optimizer steps; when set it replaces <see cref="Epochs"/>.</summary>
    [JsonPropertyName("steps")] public int? Steps { get; init; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 64;
    /// <summary><c>cosine</c>, <c>linear</c> or <c>constant</c> decay after warm-up.</summary>
    [JsonPropertyName("schedule")] public string Schedule { get; init; } = "cosine";
    /// <summary>Fraction of the steps spent warming up linearly from 0 to the peak rate.</summary>
    [JsonPropertyName("warmup")] public double Warmup { get; init; } = 0.05;
    [JsonPropertyName("label_smoothing")] public double LabelSmoothing { get; init; }
    /// <summary>Augmentation strength in [0, 1] (see <see cref="AugmentationStrength"/>).</summary>
    [JsonPropertyName("augmentation")] public double Augmentation { get; init; }
    /// <summary>Seed of the data order, augmentation draws and torch's generator.</summary>
    [JsonPropertyName("data_seed")] public ulong DataSeed { get; init; }

    /// <summary>The names a sweep may set.</summary>
    public static readonly string[] Keys =
        ["optimizer", "lr", "weight_decay", "momentum", "epochs", "steps", "batch_size", "schedule", "warmup", "label_smoothing", "augmentation", "data_seed"];

    /// <summary>A copy with <paramref name="key"/> set to <paramref name="value"/> (a number or, for optimizer/schedule, text).</summary>
    public TrainingHyperparameters With(string key, object value, string? where = null)
    {
        double Num() => value switch
        {
            double d => d,
            int i => i,
            long l => l,
            ulong u => u,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => throw new ModelSoupsException($"{key} must be a number, not '{value}'", where),
        };
        int Int(int min)
        {
            double d = Num();
            if (d != Math.Floor(d) || d < min || d > int.MaxValue) throw new ModelSoupsException($"{key} must be a whole number ≥ {min}, not {d}", where);
            return (int)d;
        }
        double Range(double min, double max)
        {
            double d = Num();
            if (!(d >= min && d <= max)) throw new ModelSoupsException($"{key} must be in [{min}, {max}], not {d}", where);
            return d;
        }
        string Text(params string[] allowed)
        {
            var s = value as string ?? throw new ModelSoupsException($"{key} must be one of {string.Join(", ", allowed)}", where);
            return allowed.Contains(s) ? s : throw new ModelSoupsException($"{key} must be one of {string.Join(", ", allowed)}, not '{s}'", where);
        }
        return key switch
        {
            "optimizer" => this with { Optimizer = Text("adamw", "sgd") },
            "lr" => this with { LearningRate = Range(double.Epsilon, 10) },
            "weight_decay" => this with { WeightDecay = Range(0, 10) },
            "momentum" => this with { Momentum = Range(0, 1) },
            "epochs" => this with { Epochs = Int(1) },
            "steps" => this with { Steps = Int(1) },
            "batch_size" => this with { BatchSize = Int(1) },
            "schedule" => this with { Schedule = Text("cosine", "linear", "constant") },
            "warmup" => this with { Warmup = Range(0, 1) },
            "label_smoothing" => this with { LabelSmoothing = Range(0, 1) },
            "augmentation" => this with { Augmentation = Range(0, 1) },
            "data_seed" => this with { DataSeed = (ulong)Int(0) },
            _ => throw new ModelSoupsException($"unknown hyperparameter '{key}'; known: {string.Join(", ", Keys)}", where),
        };
    }

    /// <summary>Short text for progress lines.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Optimizer} lr {LearningRate:G3} wd {WeightDecay:G3} {(Steps is { } s ? $"{s} steps" : $"{Epochs} ep")} bs {BatchSize} ls {LabelSmoothing:G2} aug {Augmentation:G2} seed {DataSeed}");
}
