using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Evaluation;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Recipes;
using ModelSoups.Soups;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Soups;

public sealed class SoupAccumulatorTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static double[] Ones(int n) => Enumerable.Repeat(1.0, n).ToArray();

    [Fact]
    public void Accumulation_rule()
    {
        // Unequal weights, weights f32 cannot hold exactly, or ones too small for a normal f32: f64.
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F32, [DType.BF16, DType.BF16], null, [1.0, 0.5]));
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F32, [DType.BF16, DType.BF16], null, [0.3, 0.3]));
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F32, [DType.BF16, DType.BF16], null, [1e-39, 1e-39]));
        Assert.Equal(new Accumulation(DType.F32, 0), Accumulation.For(DType.F32, [DType.BF16, DType.BF16], null, [0.5, 0.5]));
        // Narrow inputs and output: f32, scaled by 2^-s with 2^s ≥ Σ|w| (4 → s = 2, 3 → s = 2, 1 → s = 0).
        Assert.Equal(new Accumulation(DType.F32, 2), Accumulation.For(DType.F32, [DType.BF16, DType.BF16], null, Ones(4)));
        Assert.Equal(new Accumulation(DType.F32, 2), Accumulation.For(DType.F32, [DType.F16, DType.F16, DType.F16], null, Ones(3)));
        Assert.Equal(new Accumulation(DType.F32, 0), Accumulation.For(DType.F32, [DType.BF16], DType.BF16, Ones(1)));
        Assert.Equal(new Accumulation(DType.F32, 13), Accumulation.For(DType.F32, [DType.BF16], null, Ones(8192)));
        // Anything wider, an f64 computation or more weight than 2^13: f64.
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F32, [DType.BF16, DType.F32], null, Ones(2)));
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F32, [DType.BF16], DType.F32, Ones(2)));
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F64, [DType.BF16], null, Ones(2)));
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F32, [DType.BF16], null, Ones(8193)));
        Assert.Equal(Accumulation.F64, Accumulation.For(DType.F32, [DType.F32], null, Ones(1)));
    }

    /// <summary>Every non-NaN 16-bit pattern of <paramref name="type"/>: ±0, subnormals, the largest finite values, ±Inf.</summary>
    static byte[] AllPatterns(DType type)
    {
        var values = new List<ushort>();
        for (int b = 0; b <= 0xFFFF; b++)
        {
            bool nan = type == DType.BF16 ? (b & 0x7FFF) > 0x7F80 : (b & 0x7FFF) > 0x7C00;
            if (!nan) values.Add((ushort)b);
        }
        return MemoryMarshal.AsBytes(values.ToArray().AsSpan()).ToArray();
    }

    [Theory]
    [InlineData(DType.BF16, 1)]
    [InlineData(DType.BF16, 2)]
    [InlineData(DType.BF16, 3)]
    [InlineData(DType.BF16, 7)]
    [InlineData(DType.BF16, 64)]
    [InlineData(DType.F16, 3)]
    [InlineData(DType.F16, 64)]
    public void Uniform_soup_of_identical_16_bit_models_is_the_model_bit_for_bit(DType type, int k)
    {
        // bf16's largest values (0x7F7F ≈ 3.39e38) would overflow an unscaled f32 sum of two; the 2^-s scale keeps them.
        var x = AllPatterns(type);
        var acc = Accumulation.For(DType.F32, Enumerable.Repeat(type, k), null, Ones(k));
        Assert.Equal(DType.F32, acc.Type);
        var sum = new byte[x.Length / 2 * acc.Size];
        SoupAccumulator.Clear(acc, sum);
        for (int i = 0; i < k; i++) SoupAccumulator.Add(acc, sum, DType.F32, type, x, 1.0);
        var mean = new byte[x.Length];
        SoupAccumulator.Mean(acc, sum, DType.F32, k, type, mean);
        Assert.Equal(x, mean);
        // A candidate of k−1 members plus one more is the same.
        if (k > 1)
        {
            SoupAccumulator.Clear(acc, sum);
            for (int i = 0; i < k - 1; i++) SoupAccumulator.Add(acc, sum, DType.F32, type, x, 1.0);
            SoupAccumulator.MeanWith(acc, sum, DType.F32, type, x, 1.0, k, type, mean);
            Assert.Equal(x, mean);
        }
    }

    [Fact]
    public void Uniform_soup_of_identical_f32_models_is_the_model_bit_for_bit()
    {
        var rng = new Random(3);
        var f = Enumerable.Range(0, 5000).Select(i => i == 0 ? float.MaxValue : i == 1 ? float.Epsilon : (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-140, 120)))).ToArray();
        var x = MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
        foreach (int k in new[] { 2, 3, 10 })
        {
            var acc = Accumulation.For(DType.F32, [DType.F32], null, Ones(k));
            var sum = new byte[f.Length * 8];
            SoupAccumulator.Clear(acc, sum);
            for (int i = 0; i < k; i++) SoupAccumulator.Add(acc, sum, DType.F32, DType.F32, x, 1.0);
            var mean = new byte[x.Length];
            SoupAccumulator.Mean(acc, sum, DType.F32, k, DType.F32, mean);
            Assert.Equal(x, mean);
        }
    }

    [Fact]
    public void Bf16_mean_in_f32_is_within_one_output_ulp_plus_the_f32_sum_error()
    {
        // Result = exact mean, rounded to bf16 (≤ 1 ulp with the f32 rounding before it), plus the f32 sum's
        // error: ≤ k·2^-24 of the mean magnitude Σ|x|/k. Values here span 2^±20 and cancel, the worst case.
        var rng = new Random(5);
        int n = 20000, k = 5;
        var models = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, n).Select(_ => Bf16((float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-20, 20))))).ToArray()).ToArray();
        var acc = Accumulation.For(DType.F32, Enumerable.Repeat(DType.BF16, k), null, Ones(k));
        var sum = new byte[n * 4];
        SoupAccumulator.Clear(acc, sum);
        foreach (var m in models) SoupAccumulator.Add(acc, sum, DType.F32, DType.BF16, MemoryMarshal.AsBytes(m.AsSpan()), 1.0);
        var mean = new ushort[n];
        SoupAccumulator.Mean(acc, sum, DType.F32, k, DType.BF16, MemoryMarshal.AsBytes(mean.AsSpan()));
        for (int j = 0; j < n; j++)
        {
            double exact = models.Sum(m => (double)BitConverter.Int32BitsToSingle(m[j] << 16)) / k;
            double got = BitConverter.Int32BitsToSingle(mean[j] << 16);
            double ulp = Math.Pow(2, Math.Floor(Math.Log2(Math.Abs(exact))) - 7);
            double magnitude = models.Sum(m => Math.Abs((double)BitConverter.Int32BitsToSingle(m[j] << 16))) / k;
            Assert.True(Math.Abs(got - exact) <= ulp + k * Math.Pow(2, -24) * magnitude, $"element {j}: {got} vs exact {exact}");
        }
    }

    static ushort Bf16(float v) => BFloat16Kernels.FromSingle(v);

    [Fact]
    public void Non_float_tensors_come_from_the_base_when_it_matches_else_the_first_model()
    {
        var first = new TestCheckpoint().I64("n", [1], 3).Tensors["n"];
        var sameBase = new TestCheckpoint().I64("n", [1], 9).Tensors["n"];
        var otherShape = new TestCheckpoint().I64("n", [2], 9, 9).Tensors["n"];
        var otherType = new TestCheckpoint().I32("n", [1], 9).Tensors["n"];
        Assert.Same(sameBase, SoupAccumulator.CopySource(sameBase, first));
        Assert.Same(first, SoupAccumulator.CopySource(otherShape, first));
        Assert.Same(first, SoupAccumulator.CopySource(otherType, first));
        Assert.Same(first, SoupAccumulator.CopySource(null, first));
    }

    /// <summary>A folder with a bf16 tensor of several engine blocks, an f32 tensor and an integer counter.</summary>
    string Model(string name, int seed, int bf16Count = 20_000)
    {
        var folder = _dir.File(name);
        Directory.CreateDirectory(folder);
        var rng = new Random(seed);
        var big = Enumerable.Range(0, bf16Count).Select(_ => Bf16((float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 30))))).ToArray();
        var small = Enumerable.Range(0, 33).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        SafetensorsFile.Write(Path.Combine(folder, "model.safetensors"),
        [
            (new TensorInfo("big", DType.BF16, [bf16Count]), MemoryMarshal.AsBytes(big.AsSpan()).ToArray()),
            (new TensorInfo("small", DType.F32, [3, 11]), MemoryMarshal.AsBytes(small.AsSpan()).ToArray()),
            (new TensorInfo("count", DType.I64, [1]), BitConverter.GetBytes((long)seed)),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }

    static Dictionary<string, byte[]> Tensors(ICheckpoint c) => c.Tensors.ToDictionary(p => p.Key, p => p.Value.GetBytes().ToArray());

    Dictionary<string, byte[]> Merge(string name, string[] models, int threads, bool preserveSparsity = false)
    {
        var outDir = _dir.File(name);
        var recipe = QuickRecipe.Build("linear", models) with { PreserveSparsity = preserveSparsity };
        MergeEngine.Run(recipe, outDir, new MergeOptions { Threads = threads, HashInputs = false, MaxBlockElements = 4096 });
        using var c = Checkpoint.Open(outDir);
        return Tensors(c);
    }

    [Fact]
    public void In_memory_uniform_soup_equals_soup_merge_linear_bit_for_bit_on_1_and_3_threads()
    {
        var folders = Enumerable.Range(0, 4).Select(i => Model($"m{i}", i + 1)).ToArray();
        var one = Merge("one", folders, threads: 1);
        var three = Merge("three", folders, threads: 3);
        Assert.Equal(one, three);

        var opened = folders.Select(f => Checkpoint.Open(f)).ToList();
        try
        {
            // The demo's uniform soup: Start with the first, Accept the rest, take CurrentSoup (InMemorySoupBuilder.Uniform).
            var candidates = opened.Select((c, i) => Candidate.FromCheckpoint($"m{i}", c)).ToList();
            using var builder = new InMemorySoupBuilder(candidates);
            builder.Start(0);
            for (int i = 1; i < opened.Count; i++) builder.Accept(i);
            Assert.Equal(one, Tensors(builder.CurrentSoup()));
            Assert.Equal(one, Tensors(InMemorySoupBuilder.Uniform(candidates)));
        }
        finally { opened.ForEach(c => c.Dispose()); }
    }

    [Fact]
    public void The_engines_two_linear_paths_agree_bit_for_bit()
    {
        // sparsity: preserve converts every input first and calls Linear over the converted values; the default
        // path sums the file bytes directly. With no zeros in the inputs both must give the same bits.
        var folders = Enumerable.Range(0, 3).Select(i => Model($"p{i}", 10 + i)).ToArray();
        var direct = Merge("direct", folders, threads: 2);
        var converted = Merge("converted", folders, threads: 2, preserveSparsity: true);
        Assert.Equal(direct, converted);
    }

    [Fact]
    public void Soup_merge_linear_of_identical_bf16_models_returns_the_model()
    {
        var m = Model("same", 7);
        var copies = Enumerable.Range(0, 3).Select(i =>
        {
            var c = _dir.File($"copy{i}");
            Directory.CreateDirectory(c);
            File.Copy(Path.Combine(m, "model.safetensors"), Path.Combine(c, "model.safetensors"));
            return c;
        }).ToArray();
        using var original = Checkpoint.Open(m);
        Assert.Equal(Tensors(original), Merge("same-out", copies, threads: 2));
    }
}
