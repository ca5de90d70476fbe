using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// The order training sees the data in: each epoch a fresh Fisher–Yates shuffle of 0..count-1 drawn
/// from <see cref="SplitMix64"/> (seeded by the run's data seed and the epoch), cut into batches; an
/// epoch's last batch may be smaller. Identical on every platform for a seed.
/// </summary>
public static class DataOrder
{
    /// <summary>Batches of indices, epoch after epoch, without end.</summary>
    public static IEnumerable<int[]> Batches(int count, int batchSize, ulong seed)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), "no training data");
        var order = new int[count];
        for (ulong epoch = 0; ; epoch++)
        {
            for (int i = 0; i < count; i++) order[i] = i;
            var rng = new SplitMix64(seed * 0x9E3779B97F4A7C15UL + epoch);
            for (int i = count - 1; i > 0; i--)
            {
                int j = rng.NextInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            for (int start = 0; start < count; start += batchSize)
                yield return order[start..Math.Min(count, start + batchSize)];
        }
    }

    /// <summary>Optimizer steps in one epoch.</summary>
    public static int StepsPerEpoch(int count, int batchSize) => (count + batchSize - 1) / batchSize;
}
