namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// A deterministic train / held-out split. Model soups pick ingredients on a held-out set that no fine-tune
/// trains on (Wortsman et al. 2022: 2 % of ImageNet train); the same seed gives the same split everywhere.
/// </summary>
public sealed record HeldOutSplit(int[] Train, int[] HeldOut)
{
    /// <summary>Shuffles 0..count-1 (Fisher–Yates with <see cref="SplitMix64"/>) and holds out round(fraction·count) items; both parts sorted.</summary>
    public static HeldOutSplit Create(int count, double heldOutFraction, ulong seed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        if (heldOutFraction is < 0 or > 1 || double.IsNaN(heldOutFraction)) throw new ArgumentOutOfRangeException(nameof(heldOutFraction));
        var order = Enumerable.Range(0, count).ToArray();
        var rng = new SplitMix64(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int held = (int)Math.Round(heldOutFraction * count, MidpointRounding.AwayFromZero);
        var heldOut = order[..held]; var train = order[held..];
        Array.Sort(heldOut); Array.Sort(train);
        return new HeldOutSplit(train, heldOut);
    }
}
