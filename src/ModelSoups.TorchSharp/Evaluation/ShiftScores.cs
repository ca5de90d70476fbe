using ModelSoups.Evaluation;

namespace ModelSoups.TorchSharp.Evaluation;

/// <summary>
/// One model's accuracies (fractions) on the sets of <see cref="ShiftEvaluationSets"/>: held-out, test and each
/// distribution shift; <see cref="Ood"/> is their mean, as Table 3 of Wortsman et al. 2022 reports the mean over shifts.
/// </summary>
/// <param name="HeldOut">Held-out top-1 accuracy.</param>
/// <param name="Test">Test top-1 accuracy (NaN when only the held-out set was evaluated).</param>
/// <param name="Shifts">Top-1 accuracy per shift, by name (empty when only the held-out set was evaluated).</param>
public sealed record ShiftScores(double HeldOut, double Test, IReadOnlyDictionary<string, double> Shifts)
{
    /// <summary>Mean accuracy over the shifts (NaN when there are none).</summary>
    public double Ood => Shifts.Count == 0 ? double.NaN : Shifts.Values.Average();

    /// <summary>The full results per set ("heldout", "test", then each shift), with logits; null when read from a cache.</summary>
    public IReadOnlyList<(string Set, EvaluationResult Result)>? Results { get; init; }

    /// <summary>Scores from per-set results (first "heldout", then optionally "test" and the shifts).</summary>
    public static ShiftScores From(IReadOnlyList<(string Set, EvaluationResult Result)> results)
    {
        double Get(string set) => results.FirstOrDefault(r => r.Set == set).Result?.Score ?? double.NaN;
        var shifts = results.Where(r => r.Set is not ("heldout" or "test")).ToDictionary(r => r.Set, r => r.Result.Score, StringComparer.Ordinal);
        return new ShiftScores(Get("heldout"), Get("test"), shifts) { Results = results };
    }
}
