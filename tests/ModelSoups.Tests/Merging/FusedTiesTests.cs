using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

/// <summary>
/// The fused TIES kernel (<see cref="FusedTies"/>: trim, sign election and disjoint mean in one pass) against the
/// unfused path it replaced — each model's kept task vector filled into rows of 256 by
/// <see cref="TaskVectorSparsifier{T}.Fill"/>, then <see cref="SignConsensus.DisjointSingle"/> per chunk — rebuilt
/// here as the reference. Same operations in the same order per element, so every bit must agree, including
/// ties at the cut (bf16-like levels give many equal magnitudes), zeros, NaN and ±Inf inputs and odd lengths.
/// </summary>
public sealed class FusedTiesTests
{
    const int Chunk = 256;   // the unfused path's row length (TaskVectorMerge.Chunk)

    static float[] Unfused(float[][] models, float[] b, double[] densities, float[] w, float lambda, bool mergekit, bool normalize)
    {
        int k = models.Length, n = b.Length;
        var sparsifiers = new TaskVectorSparsifier<float>[k];
        for (int i = 0; i < k; i++)
        {
            var kind = densities[i] >= 1 ? TaskVectorSparsification.None : TaskVectorSparsification.Magnitude;
            sparsifiers[i] = new TaskVectorSparsifier<float>(kind, densities[i], 0, 0, 1, false, n, MergeScratch.Managed());
            sparsifiers[i].BeginSegment(models[i], b, new float[n]);
        }
        var vals = new float[k * Chunk];
        var output = new float[n];
        for (int c = 0; c < n; c += Chunk)
        {
            int cl = Math.Min(Chunk, n - c);
            for (int i = 0; i < k; i++)
                sparsifiers[i].Fill(models[i].AsSpan(c, cl), b.AsSpan(c, cl), c, vals.AsSpan(i * Chunk, cl));
            SignConsensus.DisjointSingle(vals, k, Chunk, w, b.AsSpan(c, cl), lambda, mergekit, normalize, output.AsSpan(c, cl));
        }
        return output;
    }

    static float[] Fused(float[][] models, float[] b, double[] densities, float[] w, float lambda, bool mergekit, bool normalize)
    {
        int k = models.Length, n = b.Length;
        var cuts = new RankCut<float>[k];
        for (int i = 0; i < k; i++)
        {
            var kind = densities[i] >= 1 ? TaskVectorSparsification.None : TaskVectorSparsification.Magnitude;
            var sp = new TaskVectorSparsifier<float>(kind, densities[i], 0, 0, 1, false, n, MergeScratch.Managed());
            sp.BeginSegment(models[i], b, new float[n]);
            Assert.True(sp.TryGetTopKCut(out cuts[i]));
        }
        var output = new float[n];
        FusedTies.Run([.. models.Select(m => (ReadOnlyMemory<float>)m)], b, cuts, w, lambda, mergekit, normalize, output);
        return output;
    }

    /// <summary>Inputs like bf16 fine-tunes: few distinct levels (ties at every cut), exact zeros, optional NaN/±Inf.</summary>
    static (float[][] Models, float[] Base) Inputs(int k, int n, int seed, bool nonFinite)
    {
        var rng = new Random(seed);
        float[] levels = [-0.75f, -0.5f, -0.25f, -0.125f, 0f, 0.125f, 0.25f, 0.5f, 0.75f, 0.3f, -0.3f];
        var b = Enumerable.Range(0, n).Select(_ => levels[rng.Next(levels.Length)] / 8).ToArray();
        var models = Enumerable.Range(0, k).Select(_ => b.Select(x => rng.Next(6) == 0 ? x : x + levels[rng.Next(levels.Length)]).ToArray()).ToArray();
        if (nonFinite)
            foreach (var m in models)
                for (int t = 0; t < 1 + n / 50; t++)
                    m[rng.Next(n)] = rng.Next(3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
        return (models, b);
    }

    static void SameBits(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int j = 0; j < expected.Length; j++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[j]) == BitConverter.SingleToInt32Bits(actual[j]),
                $"element {j}: unfused {expected[j]} vs fused {actual[j]}");
    }

    [Theory]
    [InlineData(1, 1, 0.5, true, true, false)]
    [InlineData(2, 7, 0.5, true, true, false)]
    [InlineData(3, 9, 0.3, true, false, true)]
    [InlineData(4, 255, 0.5, true, true, true)]
    [InlineData(4, 257, 0.9, false, false, false)]
    [InlineData(5, 1001, 0.1, true, true, true)]
    [InlineData(4, 1001, 0.0, true, true, false)]
    [InlineData(3, 4099, 1.0, true, true, true)]
    [InlineData(4, 70_003, 0.5, true, true, false)]   // long enough for the sampled cut (RankCut.SampledMinimum)
    [InlineData(4, 70_003, 0.37, false, false, true)]
    public void Fused_kernel_gives_the_unfused_bits(int k, int n, double density, bool mergekit, bool normalize, bool nonFinite)
    {
        var (models, b) = Inputs(k, n, k * 31 + n, nonFinite);
        // Unequal and one negative weight (sign elections then differ between the variants); mixed densities.
        float[] w = [.. Enumerable.Range(0, k).Select(i => (float)(0.3 + 0.37 * i) * (i == 1 ? -1 : 1))];
        double[] densities = [.. Enumerable.Range(0, k).Select(i => i == 2 ? Math.Min(1, density + 0.2) : density)];
        SameBits(Unfused(models, b, densities, w, 0.7f, mergekit, normalize), Fused(models, b, densities, w, 0.7f, mergekit, normalize));
    }

    [Theory]
    [InlineData(4, 1001, "mergekit", true)]
    [InlineData(3, 70_003, "mergekit", false)]
    [InlineData(4, 513, "peft", true)]
    public void Ties_method_runs_the_fused_kernel_with_the_unfused_bits(int k, int n, string variant, bool normalize)
    {
        // Through the method (its parameters, weights and λ as the engine binds them): the same bits as the reference.
        var (models, b) = Inputs(k, n, 7 * n + k, nonFinite: true);
        float[] w = [.. Enumerable.Range(0, k).Select(i => (float)(1.0 / (i + 1)))];
        var actual = MergeRunner.Run("ties", models, b, p =>
        {
            for (int i = 0; i < k; i++) { p.Set("weight", i, w[i]); p.Set("density", i, 0.4); }
            p.Set("lambda", 0.9);
            p.Set("normalize", normalize);
            p.Set("ties_variant", variant);
        });
        SameBits(Unfused(models, b, [.. Enumerable.Repeat(0.4, k)], w, 0.9f, variant == "mergekit", normalize), actual);
    }

    static ushort[] ToBf16(float[] x)
    {
        var bits = new ushort[x.Length];
        ModelSoups.Tensors.BFloat16Kernels.FromSingle(x, bits);
        return bits;
    }

    static float[] Widen(ushort[] bits)
    {
        var x = new float[bits.Length];
        ModelSoups.Tensors.BFloat16Kernels.ToSingle(bits, x);
        return x;
    }

    [Theory]
    [InlineData(4, 1001, 0.5, true, true, true)]
    [InlineData(3, 4099, 0.3, false, false, false)]
    [InlineData(4, 70_003, 0.5, true, true, true)]    // the sampled cuts, shared pass over the base
    [InlineData(5, 70_001, 0.37, true, false, false)]
    [InlineData(2, 17, 1.0, true, true, false)]
    public void Bf16_inputs_give_the_unfused_f32_bits_rounded_to_bf16(int k, int n, double density, bool mergekit, bool normalize, bool nonFinite)
    {
        // The engine's 16-bit path: inputs as bf16 bits (cuts and kernel read them widened in registers), output
        // rounded in the kernel. Reference: the unfused f32 path on the widened values, then the bf16 conversion.
        var (rawModels, rawBase) = Inputs(k, n, 11 * n + k, nonFinite);
        var models = rawModels.Select(ToBf16).ToArray();
        var b = ToBf16(rawBase);
        float[] w = [.. Enumerable.Range(0, k).Select(i => (float)(0.3 + 0.37 * i) * (i == 1 ? -1 : 1))];
        double[] densities = [.. Enumerable.Range(0, k).Select(i => i == 2 ? Math.Min(1, density + 0.2) : density)];
        var expected = ToBf16(Unfused([.. models.Select(Widen)], Widen(b), densities, w, 0.7f, mergekit, normalize));

        var ranks = densities.Select(d => d >= 1 ? n : (long)(d * n)).ToArray();
        var cuts = new RankCut<float>[k];
        var memories = models.Select(m => (ReadOnlyMemory<ushort>)m).ToArray();
        RankCut<float>.FindOfDifferences<ushort, ModelSoups.Tensors.Kernels.BFloat16Storage>(memories, b, ranks, new float[n], MergeScratch.Managed(), cuts);
        var actual = new ushort[n];
        FusedTies.Run<ushort, ModelSoups.Tensors.Kernels.BFloat16Storage>(memories, b, cuts, w, 0.7f, mergekit, normalize, actual);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(4, 70_003, "mergekit", true)]
    [InlineData(3, 5_000, "peft", false)]
    public void Ties_method_on_bf16_storage_equals_its_f32_merge_rounded(int k, int n, string variant, bool normalize)
    {
        var (rawModels, rawBase) = Inputs(k, n, 5 * n + k, nonFinite: true);
        var models = rawModels.Select(ToBf16).ToArray();
        var b = ToBf16(rawBase);
        void Set(MergeParameters p)
        {
            for (int i = 0; i < k; i++) { p.Set("weight", i, 1.0 / (i + 2)); p.Set("density", i, 0.45); }
            p.Set("lambda", 0.8);
            p.Set("normalize", normalize);
            p.Set("ties_variant", variant);
        }
        var expected = ToBf16(MergeRunner.Run("ties", [.. models.Select(Widen)], Widen(b), Set));
        var ties = (Ties)MergeMethods.Get("ties");
        var parameters = new MergeParameters(ties, k);
        Set(parameters);
        ties.Validate(parameters, hasBase: true);   // the planning step, as the engine's plan takes it
        Assert.True(ties.MergesBFloat16(parameters));
        var actual = new ushort[n];
        ties.MergeBFloat16([.. models.Select(m => (ReadOnlyMemory<ushort>)m)], b, parameters, MergeScratch.Managed(), actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Only_the_fused_case_claims_the_bf16_path()
    {
        // Count election, L1 rescale and other sparsifications need the converted inputs (the chunked path).
        static MergeParameters Planned(IMergeMethod m, Action<MergeParameters> set)
        {
            var p = new MergeParameters(m, 2);
            set(p);
            m.Validate(p, hasBase: true);
            return p;
        }
        var ties = (Ties)MergeMethods.Get("ties");
        Assert.True(ties.MergesBFloat16(Planned(ties, p => p.Set("density", 0, 0.5))));
        Assert.False(ties.MergesBFloat16(Planned(ties, p => p.Set("majority_sign_method", "frequency"))));
        Assert.False(ties.MergesBFloat16(Planned(ties, p => p.Set("rescale", true))));
        var dare = (TaskVectorMerge)MergeMethods.Get("dare_ties");
        Assert.False(dare.MergesBFloat16(Planned(dare, _ => { })));
    }
}
