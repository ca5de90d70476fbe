namespace ModelSoups.Tests.Merging;

/// <summary>
/// The vectorised f32 paths of TIES (trimming with ties at the cut, sign election, disjoint mean)
/// against the scalar code, which the f64 compute type still runs. Inputs are small dyadic numbers
/// with many equal magnitudes, so both types compute them exactly and the results must agree.
/// </summary>
public sealed class TiesKernelTests
{
    [Theory]
    [InlineData(2, 0.3, 1001)]
    [InlineData(2, 0.5, 64)]
    [InlineData(2, 1.0, 37)]
    [InlineData(4, 0.3, 1001)]
    [InlineData(3, 0.7, 515)]
    public void F32_vector_path_matches_the_scalar_path(int k, double density, int n)
    {
        var rng = new Random(k * 1000 + n);
        float[] levels = [-2f, -1f, -0.5f, 0f, 0.5f, 1f, 2f];
        var models = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, n).Select(_ => levels[rng.Next(levels.Length)]).ToArray()).ToArray();
        var baseModel = Enumerable.Range(0, n).Select(_ => levels[rng.Next(levels.Length)] / 4).ToArray();
        double[] w = [.. Enumerable.Range(0, k).Select(i => 0.5 + 0.25 * i)];
        void Set(ModelSoups.Merging.MergeParameters p)
        {
            for (int i = 0; i < k; i++) { p.Set("weight", i, w[i]); p.Set("density", i, density); }
            p.Set("lambda", 0.5);
            p.Set("ties_variant", "peft"); // dyadic weights divide exactly only by counts; the mergekit variant's kernel is checked below
        }
        var f = MergeRunner.Run("ties", models, baseModel, Set);
        var d = MergeRunner.Run("ties", models.Select(m => m.Select(x => (double)x).ToArray()).ToArray(), baseModel.Select(x => (double)x).ToArray(), Set);
        for (int j = 0; j < n; j++)
        {
            if (k <= 2) Assert.Equal((float)d[j], f[j]);
            else Assert.True(Math.Abs((float)d[j] - f[j]) <= 1e-6f, $"element {j}: {d[j]} vs {f[j]}");
        }
        // Exactly floor(density·n) entries of each task vector survive trimming, ties included:
        // check through task_arithmetic with one model and a zero base.
        var nonzero = models[0].Select(x => x == 0 ? 0.25f : x).ToArray();
        var single = MergeRunner.Run("task_arithmetic", [nonzero], new float[n], p => p.Set("density", 0, density).Set("trim", true));
        Assert.Equal((long)(density * n), single.Count(x => x != 0));
    }

    [Theory]
    [InlineData(2, 37, true, true)]
    [InlineData(3, 1001, true, true)]
    [InlineData(3, 1001, true, false)]
    [InlineData(4, 515, false, false)]
    [InlineData(5, 64, true, true)]
    public void Consensus_kernel_matches_the_scalar_column_bit_for_bit(int k, int n, bool mergekit, bool normalize)
    {
        // Arbitrary floats (not dyadic) with exact zeros and sign conflicts; both paths do the same
        // operations in the same order per column, so every bit must agree.
        var rng = new Random(k * 7919 + n);
        float[] vals = [.. Enumerable.Range(0, k * n).Select(_ => rng.Next(5) == 0 ? 0f : (float)(rng.NextDouble() * 2 - 1))];
        float[] w = [.. Enumerable.Range(0, k).Select(i => (float)(0.3 + 0.37 * i) * (i == 1 ? -1 : 1))];
        float[] b = [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble())];
        var fast = new float[n];
        ModelSoups.Merging.SignConsensus.DisjointSingle(vals, k, n, w, b, 0.7f, mergekit, normalize, fast);
        var column = new float[k];
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < k; i++) column[i] = vals[i * n + j];
            float expected = b[j] + 0.7f * ModelSoups.Merging.SignConsensus.Disjoint<float>(column, w, false, mergekit, normalize);
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(fast[j]));
        }
    }
}
