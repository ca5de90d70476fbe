using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Evaluation;

/// <summary>
/// The data a model is judged on, as in Wortsman et al. 2022's Table 3: the held-out part of the training set
/// (soups choose on it), the in-distribution test set, and distribution-shift test sets made from the test set by
/// <see cref="Corruptions"/> at one severity (the paper's five ImageNet shifts become five corruptions).
/// </summary>
/// <param name="HeldOut">Held-out sample.</param>
/// <param name="Test">Test sample.</param>
/// <param name="Shifts">One corrupted copy of (a prefix of) the test sample per corruption, by name.</param>
/// <param name="Severity">The corruption severity used.</param>
/// <param name="Description">Stable description (sizes, seeds, severity) for caches.</param>
public sealed record ShiftEvaluationSets(ImageDataset HeldOut, ImageDataset Test, IReadOnlyList<(string Name, ImageDataset Data)> Shifts,
    int Severity, string Description)
{
    /// <summary>The corruption severity of the soups demo's shift suite (1..5), also used to score sparse soups.</summary>
    public const int DefaultSeverity = 3;

    /// <summary>
    /// Samples <paramref name="heldOut"/> held-out and <paramref name="test"/> test images (seeded; null: all) from
    /// <paramref name="splits"/>, and corrupts the first <paramref name="perShift"/> test images with every kind in
    /// <paramref name="kinds"/> (default: all five) at <paramref name="severity"/>.
    /// </summary>
    public static ShiftEvaluationSets Create(DatasetSplits splits, int? heldOut, int? test, int? perShift, int severity, ulong seed = 0,
        IReadOnlyList<CorruptionKind>? kinds = null)
    {
        var testSet = splits.Test ?? throw new ModelSoupsException("the distribution-shift evaluation needs a test set; give a dataset folder with test.safetensors", splits.Train.Source);
        var h = heldOut is { } a ? splits.HeldOut.Sample(a, seed) : splits.HeldOut;
        var t = test is { } b ? testSet.Sample(b, seed) : testSet;
        int n = Math.Min(perShift ?? t.Count, t.Count);
        var prefix = n == t.Count ? t : t.Subset(Enumerable.Range(0, n).ToArray());
        var shifts = (kinds ?? Corruptions.All)
            .Select(k => (Corruptions.Name(k), Corruptions.Apply(k, severity, prefix, seed * 1_000_003UL + (ulong)k * 100_003UL)))
            .ToList();
        return new ShiftEvaluationSets(h, t, shifts, severity, System.FormattableString.Invariant(
            $"{splits.Description}; heldout {h.Count}, test {t.Count}, shifts {string.Join(",", shifts.Select(s => s.Item1))} x {n} at severity {severity}, seed {seed}"));
    }
}
