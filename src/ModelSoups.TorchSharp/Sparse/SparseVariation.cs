using System.Globalization;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// The m retraining runs of one SMS phase: copies of the base retraining hyperparameters that differ in one
/// (Zimmer et al. 2024 vary the batch order/seed, weight decay, retrain length or initial learning rate).
/// Defaults when no values are given: <c>data_seed</c> base + i; <c>weight_decay</c> base × 2^(i−1);
/// <c>lr</c> and <c>steps</c> base × 1, 0.75, 1.25, 0.5, 1.5, … (steps rounded, at least 1). Pure.
/// </summary>
public static class SparseVariation
{
    /// <summary>Hyperparameters the SMS paper varies; others need explicit values.</summary>
    public static readonly string[] Defaulted = ["data_seed", "weight_decay", "lr", "steps"];

    /// <summary>The runs: a name (<c>key=value</c>) and the hyperparameters of each.</summary>
    public static IReadOnlyList<(string Name, TrainingHyperparameters Hyperparameters)> Runs(
        TrainingHyperparameters baseline, string vary, int count, IReadOnlyList<string>? values = null)
    {
        if (count < 1) throw new ModelSoupsException($"at least one ingredient per phase is needed, not {count}");
        if (!TrainingHyperparameters.Keys.Contains(vary))
            throw new ModelSoupsException($"cannot vary '{vary}'; known hyperparameters: {string.Join(", ", TrainingHyperparameters.Keys)}");
        if (values is not null && values.Count != count)
            throw new ModelSoupsException($"{values.Count} value(s) given for {count} ingredient(s); give one per ingredient");
        var chosen = values?.Select(v => (object)v).ToList() ?? Default(baseline, vary, count);
        var runs = new List<(string, TrainingHyperparameters)>();
        foreach (var v in chosen)
        {
            var hp = baseline.With(vary, v, $"--values ({vary})");
            runs.Add(($"{vary}={Format(v)}", hp));
        }
        var duplicate = runs.GroupBy(r => r.Item2).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ModelSoupsException($"two ingredients would train identically ({duplicate.First().Item1}); give distinct values");
        return runs;
    }

    static List<object> Default(TrainingHyperparameters b, string vary, int count)
    {
        // 1, 0.75, 1.25, 0.5, 1.5, 0.25, 1.75: spread around the baseline, the baseline itself first.
        double Spread(int i) => i == 0 ? 1 : 1 + ((i + 1) / 2) * 0.25 * (i % 2 == 1 ? -1 : 1);
        return vary switch
        {
            "data_seed" => Enumerable.Range(0, count).Select(i => (object)(b.DataSeed + (ulong)i)).ToList(),
            "weight_decay" when b.WeightDecay > 0 => Enumerable.Range(0, count).Select(i => (object)(b.WeightDecay * Math.Pow(2, i - 1))).ToList(),
            "lr" when count <= 7 => Enumerable.Range(0, count).Select(i => (object)(b.LearningRate * Spread(i))).ToList(),
            "steps" when b.Steps is { } s && count <= 7 => Enumerable.Range(0, count).Select(i => (object)Math.Max(1, (int)Math.Round(s * Spread(i)))).ToList(),
            _ => throw new ModelSoupsException(
                $"no default values for varying '{vary}' over {count} ingredient(s) here; give them with --values (defaults exist for {string.Join(", ", Defaulted)}: " +
                "weight_decay needs a non-zero base, steps a base step count, lr and steps at most 7 ingredients)"),
        };
    }

    static string Format(object v) => v switch
    {
        double d => d.ToString("G4", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
