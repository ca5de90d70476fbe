using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary><c>sparsity: preserve</c>: same-mask inputs only, shared zeros stay exactly zero (Sparse Model Soups).</summary>
public sealed class SparsityPreserveTests : IDisposable
{
    readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    static readonly MergeOptions Options = new() { Threads = 2, MemoryBudgetBytes = 64 << 20, HashInputs = false };

    string Model(string name, float[] w1, float[] w2) => ModelFolders.Write(_tmp.File(name),
    [
        (new TensorInfo("layer.0.weight", DType.F32, [w1.Length]), ModelFolders.Bytes(DType.F32, w1)),
        (new TensorInfo("layer.1.weight", DType.F32, [w2.Length]), ModelFolders.Bytes(DType.F32, w2)),
        (new TensorInfo("bn.num_batches_tracked", DType.I64, []), ModelFolders.Int64Bytes(3)),
    ]);

    static Recipe WithPreserve(Recipe r) => r with { PreserveSparsity = true };

    [Fact]
    public void Differing_masks_are_refused_with_the_tensor_list_and_nothing_is_written()
    {
        var a = Model("a", [0, 1, 2, 0], [0, 5]);
        var b = Model("b", [0, 3, 0, 4], [1, 0]);   // both tensors differ in where they are zero
        var c = Model("c", [0, 2, 2, 0], [0, 7]);
        var output = _tmp.File("out");
        var e = Assert.Throws<ModelSoupsException>(() =>
            MergeEngine.Run(WithPreserve(QuickRecipe.Build("linear", [a, b, c])), output, Options));
        Assert.Contains("differ in 2 tensor(s): layer.0.weight, layer.1.weight", e.Message);
        Assert.False(Directory.Exists(output));
        Assert.DoesNotContain(Directory.GetDirectories(_tmp.Path), d => System.IO.Path.GetFileName(d).StartsWith(".out", StringComparison.Ordinal));

        // Without the option the same models merge.
        MergeEngine.Run(QuickRecipe.Build("linear", [a, b, c]), output, Options);
        Assert.True(Directory.Exists(output));
    }

    [Fact]
    public void Shared_zeros_stay_exactly_zero_for_a_method_with_a_base()
    {
        // A dense base and two models pruned with one mask (elements 0 and 2).
        var baseModel = Model("base", [1, 2, 3, 4], [1, 1]);
        var a = Model("a", [0, 5, 0, 7], [2, 3]);
        var b = Model("b", [-0f, 3, 0, 9], [4, 5]);   // -0 counts as zero
        var recipe = QuickRecipe.Build("task_arithmetic", [a, b], basePath: baseModel, settings: ["lambda=1"]);

        MergeEngine.Run(recipe, _tmp.File("plain"), Options);
        // θ₀ + Σ τ_i: element 0 is 1 + (0 − 1) + (0 − 1) = −1, not zero.
        Assert.Equal([-1f, 6f, -3f, 12f], ModelFolders.ReadFloats(_tmp.File("plain"))["layer.0.weight"]);

        MergeEngine.Run(WithPreserve(recipe), _tmp.File("kept"), Options);
        var kept = ModelFolders.ReadFloats(_tmp.File("kept"));
        Assert.Equal([0f, 6f, 0f, 12f], kept["layer.0.weight"]);
        Assert.Equal(0, BitConverter.SingleToInt32Bits(kept["layer.0.weight"][0]));   // +0, not −0
        Assert.Equal([5f, 7f], kept["layer.1.weight"]);
    }

    [Fact]
    public void Uniform_soup_of_same_mask_models_keeps_the_mask()
    {
        var a = Model("a", [0, 1, 0, -2], [0, 0.5f]);
        var b = Model("b", [0, 3, -0f, 6], [0, -0.5f]);
        MergeEngine.Run(WithPreserve(QuickRecipe.Build("linear", [a, b])), _tmp.File("out"), Options);
        var m = ModelFolders.ReadFloats(_tmp.File("out"));
        Assert.Equal([0f, 2f, 0f, 2f], m["layer.0.weight"]);
        Assert.Equal(0, BitConverter.SingleToInt32Bits(m["layer.0.weight"][2]));
        // 0.5 and −0.5 average to 0 outside the mask: allowed (zeros ⊇ mask), never the reverse.
        Assert.Equal([0f, 0f], m["layer.1.weight"]);
    }

    [Fact]
    public void Recipe_forms_parse_and_round_trip()
    {
        var a = Model("a", [0, 1], [1, 1]);
        var b = Model("b", [0, 2], [1, 1]);
        string Yaml(string extra) => $"merge_method: linear\nmodels:\n  - model: {a}\n  - model: {b}\n{extra}";

        var top = RecipeParser.Parse(Yaml("sparsity: preserve\n"));
        Assert.True(top.PreserveSparsity);
        Assert.False(RecipeParser.Parse(Yaml("sparsity: none\n")).PreserveSparsity);
        var global = RecipeParser.Parse(Yaml("parameters:\n  sparsity: preserve\n"));
        Assert.True(global.PreserveSparsity);
        Assert.False(global.Parameters.ContainsKey("sparsity"));
        Assert.True(QuickRecipe.Build("linear", [a, b], settings: ["sparsity=preserve"]).PreserveSparsity);
        Assert.False(RecipeParser.Parse(Yaml("")).PreserveSparsity);

        Assert.Contains("sparsity must be 'preserve'", Assert.Throws<RecipeException>(() => RecipeParser.Parse(Yaml("sparsity: keep\n"))).Message);
        Assert.Contains("sparsity must be 'preserve'", Assert.Throws<RecipeException>(() => QuickRecipe.Build("linear", [a, b], settings: ["sparsity=1"])).Message);

        var written = RecipeWriter.ToYaml(top);
        Assert.Contains("sparsity: preserve", written);
        Assert.True(RecipeParser.Parse(written).PreserveSparsity);
    }

    [Fact]
    public void Kernels_golden()
    {
        ReadOnlyMemory<float>[] same = [new float[] { 0, 1, -0f }, new float[] { 0, 2, 0 }];
        ReadOnlyMemory<float>[] other = [new float[] { 0, 1, 0 }, new float[] { 0, 0, 0 }];
        Assert.True(SparsityPreservation.SameZeros<float>(same));
        Assert.False(SparsityPreservation.SameZeros<float>(other));
        var result = new float[] { 7, 8, 9 };
        SparsityPreservation.KeepZeros<float>(other, result);
        Assert.Equal([0f, 8f, 0f], result);
    }
}
