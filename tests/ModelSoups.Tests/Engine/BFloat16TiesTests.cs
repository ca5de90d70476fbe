using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Engine;

/// <summary>
/// The engine's 16-bit TIES path (<c>BFloat16TaskVectorMerge</c>: bf16 inputs handed to the method as they are in the
/// file, the bf16 output written by the kernel) against the converted path: the same values stored as f32 checkpoints
/// go through f32 buffers and the method's f32 merge; rounding that output to bf16 must give the bf16 merge's bytes.
/// </summary>
public sealed class BFloat16TiesTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // bf16-exact values (so the f32 twin holds the same numbers): a large tensor (sampled cuts, shared pass over the
    // base), a small one (full selection) and a vector; one model with NaN and ±Inf entries.
    static readonly (string Name, long[] Shape)[] Tensors =
        [("model.layers.0.mlp.weight", [7, 10_001]), ("model.layers.0.attn.weight", [35, 37]), ("model.norm.weight", [37])];

    static float[][] Values(int seed, bool nonFinite)
    {
        var rng = new Random(seed);
        return [.. Tensors.Select(t => Enumerable.Range(0, (int)t.Shape.Aggregate(1L, (a, d) => a * d)).Select(j =>
            nonFinite && j % 997 == 3 ? (j % 3 == 0 ? float.NaN : j % 3 == 1 ? float.PositiveInfinity : float.NegativeInfinity)
            : BFloat16Kernels.ToSingle(BFloat16Kernels.FromSingle((float)(rng.NextDouble() * 0.1 - 0.05)))).ToArray())];
    }

    string Write(string name, DType type, float[][] values) =>
        ModelFolders.Write(_dir.File(name), [.. Tensors.Select((t, i) => (new TensorInfo(t.Name, type, t.Shape), ModelFolders.Bytes(type, values[i])))]);

    [Theory]
    [InlineData("mergekit", 0.5, 1)]
    [InlineData("peft", 0.3, 2)]
    public void Bf16_ties_merge_equals_the_converted_f32_merge_rounded(string variant, double density, int threads)
    {
        var sets = Enumerable.Range(0, 4).Select(i => Values(i + 1, nonFinite: i == 2)).ToArray();
        string[] Models(DType type) => [.. sets.Skip(1).Select((v, i) => Write($"{type}-m{i}", type, v))];
        Recipe Recipe(DType type) => QuickRecipe.Build("ties", Models(type), Write($"{type}-base", type, sets[0]), density: density,
            settings: [$"ties_variant={variant}", "lambda=0.9"]);
        var options = new MergeOptions { Threads = threads, HashInputs = false };
        var bf16 = MergeEngine.Run(Recipe(DType.BF16), _dir.File("bf16-out"), options);
        MergeEngine.Run(Recipe(DType.F32), _dir.File("f32-out"), options);
        var actual = ModelFolders.ReadBytes(_dir.File("bf16-out"));
        foreach (var (name, f32) in ModelFolders.ReadFloats(_dir.File("f32-out")))
            Assert.Equal(ModelFolders.Bytes(DType.BF16, f32), actual[name]);
        // The non-finite entries of the third model are counted on its staged bytes, as on the converted path.
        Assert.Contains(bf16.Notes, n => n.Contains("non-finite", StringComparison.OrdinalIgnoreCase));
    }
}
