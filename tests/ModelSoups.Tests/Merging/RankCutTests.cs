using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

public sealed class RankCutTests
{
    static float SortedReference(float[] a, long k) => a.OrderDescending().ElementAt((int)k);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(70001)]
    public void Radix_select_equals_sorting(int n)
    {
        var rng = new Random(n);
        // Magnitudes with many ties, zeros, subnormals, infinities and the -1 that stands for NaN.
        float[] pool = [0f, -1f, 1e-42f, float.Epsilon, 1f, 1f, 2.5f, float.PositiveInfinity, 3e38f];
        var a = Enumerable.Range(0, n).Select(_ => rng.Next(4) == 0 ? pool[rng.Next(pool.Length)] : (float)rng.NextDouble() * MathF.Pow(2, rng.Next(-30, 30))).ToArray();
        foreach (var k in new long[] { 0, n / 3, n / 2, n - 1 }.Distinct())
            Assert.Equal(SortedReference(a, k), RankCut<float>.SelectSingle(a, k));
    }

    [Fact]
    public void Radix_select_on_equal_values_and_negatives()
    {
        Assert.Equal(2f, RankCut<float>.SelectSingle([2f, 2f, 2f, 2f], 3));
        Assert.Equal(-1f, RankCut<float>.SelectSingle([-1f, 0f, 3f], 2));
        Assert.Equal(-0.5f, RankCut<float>.SelectSingle([-3f, -0.5f, -1f, 0f], 1));
    }

    /// <summary>What Take decides for every element, in index order.</summary>
    static bool[] Decisions(RankCut<float> cut, float[] mags) => [.. mags.Select(x => cut.Take(x))];

    [Theory]
    [InlineData(70_000, 0.5, 0)]      // bf16-like differences: few distinct magnitudes, many ties at the cut
    [InlineData(70_000, 0.1, 1)]
    [InlineData(100_003, 0.9, 2)]
    [InlineData(80_000, 0.5, 3)]      // periodic data: the stride sample sees one value, the bracket misses, the fallback decides
    [InlineData(80_000, 0.3, 4)]      // NaNs among the differences
    [InlineData(90_000, 0.999, 5)]    // the cut among the zeros (identical weights)
    public void Sampled_cut_of_a_difference_equals_the_full_selection(int n, double density, int kind)
    {
        var rng = new Random(n + kind);
        static float Bf16(float x) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(x) & unchecked((int)0xFFFF0000));
        var b = new float[n];
        var m = new float[n];
        for (int j = 0; j < n; j++)
        {
            b[j] = Bf16((float)(rng.NextDouble() * 0.04 - 0.02));
            m[j] = kind switch
            {
                3 => b[j] + (j % 32768 == 0 ? 1f : 0.25f * (j % 7)),
                4 when j % 97 == 0 => float.NaN,
                5 => j % 10 == 0 ? Bf16(b[j] + 0.001f) : b[j],
                _ => Bf16(b[j] + (float)(rng.NextDouble() * 0.004 - 0.002)),
            };
        }
        long r = (long)(density * n);
        var mags = m.Zip(b, (x, y) => MathF.Abs(x - y)).ToArray();
        var reference = RankCut<float>.Find(mags.ToArray(), r, MergeScratch.Managed());
        // The sampled cut within the scratch the full selection declares (a take beyond it throws).
        long declared = RankCut<float>.ScratchElementsFor(n) * sizeof(float) + MergeScratch.SlackBytes;
        RankCut<float> sampled;
        unsafe
        {
            var memory = System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)declared, 64);
            try { sampled = RankCut<float>.FindOfDifference(m, b, r, new float[n], MergeScratch.Over(memory, declared)); }
            finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(memory); }
        }
        Assert.Equal(reference.Value, sampled.Value);
        var expected = Decisions(reference, mags);
        Assert.Equal(expected, Decisions(sampled, mags));
        Assert.Equal(r, expected.LongCount(x => x));
    }

    [Fact]
    public void Ties_are_taken_in_bulk_exactly_as_one_by_one()
    {
        // Cut at rank 5 of [3, 2, 2, 2, 2, 2, 1]: 3 is above, four of the five 2s are taken, the first four.
        float[] mags = [3, 2, 2, 2, 2, 2, 1];
        var cut = RankCut<float>.Find(mags.ToArray(), 5, MergeScratch.Managed());
        Assert.Equal(2f, cut.Value);
        Assert.Equal(3, cut.TakeTies(3));
        Assert.Equal(1, cut.TakeTies(2));
        Assert.Equal(0, cut.TakeTies(4));
        Assert.Equal(4, RankCut<float>.All.TakeTies(4));
        Assert.Equal(0, RankCut<float>.None.TakeTies(4));
    }

    [Theory]
    [InlineData(70_000, 4, 0)]     // bf16 fine-tunes: the sampled brackets, all four counted in one pass
    [InlineData(70_000, 3, 1)]     // one model with NaNs (its sample fails: full selection), the others bracketed
    [InlineData(80_000, 4, 2)]     // a zero base and one constant model: all its magnitudes tie, its bracket overflows its share
    [InlineData(1_000, 3, 0)]      // below the sampled minimum: full selection
    public void Shared_pass_cuts_of_bf16_inputs_equal_each_models_own_cut(int n, int k, int kind)
    {
        var rng = new Random(n * 7 + kind);
        static ushort Bits(float x) => (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16);
        static float Widen(ushort x) => BitConverter.UInt32BitsToSingle((uint)x << 16);
        var b = Enumerable.Range(0, n).Select(_ => kind == 2 ? (ushort)0 : Bits((float)(rng.NextDouble() * 0.04 - 0.02))).ToArray();
        var models = Enumerable.Range(0, k).Select(i => b.Select((x, j) => Bits(
            kind == 1 && i == 1 && j % 89 == 0 ? float.NaN
            : kind == 2 && i == 0 ? 0.25f
            : Widen(x) + (float)(rng.NextDouble() * 0.004 - 0.002))).ToArray()).ToArray();
        long[] ranks = [.. Enumerable.Range(0, k).Select(i => (long)((0.2 + 0.2 * i) * n))];
        var cuts = new RankCut<float>[k];
        RankCut<float>.FindOfDifferences<ushort, ModelSoups.Tensors.Kernels.BFloat16Storage>(
            [.. models.Select(m => (ReadOnlyMemory<ushort>)m)], b, ranks, new float[n], MergeScratch.Managed(), cuts);
        var wb = b.Select(Widen).ToArray();
        for (int i = 0; i < k; i++)
        {
            var wm = models[i].Select(Widen).ToArray();
            var mags = wm.Zip(wb, (x, y) => MathF.Abs(x - y)).ToArray();
            var own = RankCut<float>.Find(mags.ToArray(), ranks[i], MergeScratch.Managed());
            Assert.Equal(own.Value, cuts[i].Value);
            Assert.Equal(Decisions(own, mags), Decisions(cuts[i], mags));
        }
    }
}
