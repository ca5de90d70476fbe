using System.Text.Json.Nodes;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary><c>slices:</c> recipes: layer stacking, per-slice methods and parameters, config rewriting, errors before writing.</summary>
public sealed class SliceTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static readonly MergeOptions Options = new() { Threads = 2, MemoryBudgetBytes = 16 << 20 };

    Recipe Recipe(string yaml)
    {
        var path = _tmp.File("recipe.yaml");
        File.WriteAllText(path, yaml);
        return RecipeParser.ParseFile(path);
    }

    [Fact]
    public void Passthrough_stacks_layer_ranges_of_two_models_under_consecutive_names()
    {
        // Depth up-scaling in the SOLAR style, scaled down: layers 0-3 of A then 2-5 of B -> 8 layers.
        TinyLlama.Write(_tmp.File("a"), 6, seed: 1);
        TinyLlama.Write(_tmp.File("b"), 6, seed: 2);
        var summary = MergeEngine.Run(Recipe("""
            slices:
              - sources:
                  - model: ./a
                    layer_range: [0, 4]
              - sources:
                  - model: ./b
                    layer_range: [2, 6]
            merge_method: passthrough
            dtype: bfloat16
            """), _tmp.File("out"), Options);

        var a = ModelFolders.ReadBytes(_tmp.File("a"));
        var b = ModelFolders.ReadBytes(_tmp.File("b"));
        var o = ModelFolders.ReadBytes(_tmp.File("out"));
        var expected = new Dictionary<string, byte[]>
        {
            ["model.embed_tokens.weight"] = a["model.embed_tokens.weight"],  // pre-layer: the first slice's source
            ["model.norm.weight"] = b["model.norm.weight"],                    // post-layer: the last slice's source
            ["lm_head.weight"] = b["lm_head.weight"],
        };
        for (int j = 0; j < 8; j++)
            foreach (var (suffix, _) in TinyLlama.LayerTensors)
                expected[TinyLlama.LayerName(j, suffix)] = j < 4 ? a[TinyLlama.LayerName(j, suffix)] : b[TinyLlama.LayerName(j - 2, suffix)];
        Assert.Equal(expected.Keys.Order(), o.Keys.Order());
        foreach (var (name, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(o[name]), name);
        Assert.Equal(3 + 8 * 9, summary.TensorsMerged + summary.TensorsCopied);

        var config = JsonNode.Parse(File.ReadAllText(_tmp.File("out/config.json")))!;
        Assert.Equal(8, (int)config["num_hidden_layers"]!);
        Assert.Equal("bfloat16", (string)config["torch_dtype"]!);
        Assert.Equal(8, (int)config["hidden_size"]!);
    }

    [Fact]
    public void The_plan_shows_the_output_layer_map_and_writes_nothing()
    {
        TinyLlama.Write(_tmp.File("a"), 6, seed: 1);
        TinyLlama.Write(_tmp.File("b"), 6, seed: 2);
        using var plan = MergePlan.Create(Recipe("""
            slices:
              - sources: [{model: ./a, layer_range: [0, 4]}]
              - sources: [{model: ./b, layer_range: [2, 6]}]
              - sources: [{model: ./a, layer_range: [5, 6]}]
            merge_method: passthrough
            """), Options);
        var text = plan.Describe(Options, _tmp.File("out"));
        Assert.Contains("slice       layers 0-3 <- ./a layers 0-3", text);
        Assert.Contains("slice       layers 4-7 <- ./b layers 2-5", text);
        Assert.Contains("slice       layers 8 <- ./a layers 5", text);
        Assert.Contains("9 layers", text);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Fact]
    public void Linear_over_slices_equals_the_weighted_mean_of_the_named_layers_with_the_gradient_run_over_each_slice()
    {
        // f32 models so the check is exact up to the one rounding of the double accumulation.
        TinyLlama.Write(_tmp.File("a"), 5, seed: 3, DType.F32);
        TinyLlama.Write(_tmp.File("b"), 5, seed: 4, DType.F32);
        MergeEngine.Run(Recipe("""
            slices:
              - sources:
                  - model: ./a
                    layer_range: [2, 5]
                    parameters: {weight: 1.0}
                  - model: ./b
                    layer_range: [1, 4]
                    parameters:
                      weight: [0, 1]
              - sources:
                  - model: ./a
                    layer_range: [0, 1]
                  - model: ./b
                    layer_range: [4, 5]
                parameters: {weight: 0.25}
            merge_method: linear
            parameters: {weight: 0.5}
            """), _tmp.File("out"), Options);
        var a = ModelFolders.ReadFloats(_tmp.File("a"));
        var b = ModelFolders.ReadFloats(_tmp.File("b"));
        var o = ModelFolders.ReadFloats(_tmp.File("out"));
        // Slice 1 has 3 layers, so the gradient [0, 1] on b's weight gives t = 0, 0.5, 1 -> w_b = 0, 0.5, 1
        // (mergekit plan_slice: t = j / (n - 1) within the slice); a's weight 1 is its own (source) value.
        // Linear normalises: out = (1 * a + w_b * b) / (1 + w_b).
        // Slice 2: no source values; the slice's weight 0.25 beats the recipe's 0.5 for both -> plain mean.
        // Embeddings (before the stack) merge slice 1's sources at t = 0: w_b = 0 -> exactly a.
        // The final norm and lm_head merge the last slice's sources with its weights: the mean.
        void Check(string outName, string aName, string bName, double wa, double wb)
        {
            var x = a[aName]; var y = b[bName]; var z = o[outName];
            for (int i = 0; i < z.Length; i++) Assert.Equal((float)((wa * x[i] + wb * y[i]) / (wa + wb)), z[i], 1e-6f);
        }
        foreach (var (suffix, _) in TinyLlama.LayerTensors)
        {
            Check(TinyLlama.LayerName(0, suffix), TinyLlama.LayerName(2, suffix), TinyLlama.LayerName(1, suffix), 1, 0);
            Check(TinyLlama.LayerName(1, suffix), TinyLlama.LayerName(3, suffix), TinyLlama.LayerName(2, suffix), 1, 0.5);
            Check(TinyLlama.LayerName(2, suffix), TinyLlama.LayerName(4, suffix), TinyLlama.LayerName(3, suffix), 1, 1);
            Check(TinyLlama.LayerName(3, suffix), TinyLlama.LayerName(0, suffix), TinyLlama.LayerName(4, suffix), 0.25, 0.25);
        }
        Check("model.embed_tokens.weight", "model.embed_tokens.weight", "model.embed_tokens.weight", 1, 0);
        Check("model.norm.weight", "model.norm.weight", "model.norm.weight", 0.25, 0.25);
        Check("lm_head.weight", "lm_head.weight", "lm_head.weight", 0.25, 0.25);
        Assert.Equal(4 * 9 + 3, o.Count);
        Assert.Equal(4, (int)JsonNode.Parse(File.ReadAllText(_tmp.File("out/config.json")))!["num_hidden_layers"]!);
    }

    [Fact]
    public void A_slice_over_all_layers_gives_the_same_bytes_as_the_models_form()
    {
        TinyLlama.Write(_tmp.File("base"), 4, seed: 5);
        TinyLlama.Write(_tmp.File("x"), 4, seed: 6);
        TinyLlama.Write(_tmp.File("y"), 4, seed: 7);
        MergeEngine.Run(Recipe("""
            models:
              - model: ./x
                parameters: {weight: 0.7, density: 0.5}
              - model: ./y
                parameters: {weight: 0.4, density: 0.5}
            merge_method: ties
            base_model: ./base
            dtype: bfloat16
            """), _tmp.File("models"), Options);
        MergeEngine.Run(Recipe("""
            slices:
              - sources:
                  - model: ./base
                    layer_range: [0, 4]
                  - model: ./x
                    layer_range: [0, 4]
                    parameters: {weight: 0.7, density: 0.5}
                  - model: ./y
                    layer_range: [0, 4]
                    parameters: {weight: 0.4, density: 0.5}
            merge_method: ties
            base_model: ./base
            dtype: bfloat16
            """), _tmp.File("slices"), Options);
        var m = ModelFolders.ReadBytes(_tmp.File("models"));
        var s = ModelFolders.ReadBytes(_tmp.File("slices"));
        Assert.Equal(m.Keys.Order(), s.Keys.Order());
        foreach (var k in m.Keys) Assert.True(m[k].AsSpan().SequenceEqual(s[k]), k);
    }

    [Fact]
    public void Output_is_bit_identical_for_any_thread_count_and_block_size_and_stays_in_budget()
    {
        TinyLlama.Write(_tmp.File("base"), 4, seed: 8, DType.F32);
        TinyLlama.Write(_tmp.File("x"), 4, seed: 9, DType.F32);
        TinyLlama.Write(_tmp.File("y"), 6, seed: 10, DType.F32);
        var yaml = """
            slices:
              - sources:
                  - {model: ./base, layer_range: [0, 3]}
                  - {model: ./x, layer_range: [1, 4], parameters: {weight: 1, density: 0.6}}
                  - {model: ./y, layer_range: [3, 6], parameters: {weight: [0.2, 1], density: 0.6}}
              - sources:
                  - {model: ./y, layer_range: [0, 2]}
            merge_method: dare_linear
            base_model: ./base
            random_seed: 7
            """;
        // Slice 2 merges y alone under dare_linear without its base: refused, the base must be a source.
        var e = Assert.Throws<ModelSoupsException>(() => MergeEngine.Run(Recipe(yaml), _tmp.File("x1"), Options));
        Assert.Contains("slice 2: base_model ./base is not one of the slice's sources", e.Message);
        yaml = yaml.Replace("  - sources:\n      - {model: ./y, layer_range: [0, 2]}", "  - sources:\n      - {model: ./base, layer_range: [2, 4]}\n      - {model: ./y, layer_range: [0, 2], parameters: {weight: 1, density: 0.6}}");
        MergeEngine.Run(Recipe(yaml), _tmp.File("one"), new MergeOptions { Threads = 1, MemoryBudgetBytes = 64 << 20 });
        long budget = 16 << 10;   // dare_linear (mergekit's L1 rescale) needs each tensor whole: 6 KiB for lm_head
        var s = MergeEngine.Run(Recipe(yaml), _tmp.File("many"), new MergeOptions { Threads = 3, MemoryBudgetBytes = budget, MaxBlockElements = 7 });
        Assert.InRange(s.PeakWorkingBytes, 1, budget);
        var one = ModelFolders.ReadBytes(_tmp.File("one"));
        var many = ModelFolders.ReadBytes(_tmp.File("many"));
        Assert.Equal(5 * 9 + 3, one.Count);
        Assert.Equal(one.Keys.Order(), many.Keys.Order());
        foreach (var k in one.Keys) Assert.True(one[k].AsSpan().SequenceEqual(many[k]), k);
    }

    [Fact]
    public void A_cancelled_slices_merge_leaves_no_destination_and_no_temp_folder()
    {
        TinyLlama.Write(_tmp.File("a"), 4, seed: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => MergeEngine.Run(Recipe("""
            slices:
              - sources: [{model: ./a, layer_range: [0, 2]}]
              - sources: [{model: ./a, layer_range: [1, 4]}]
            merge_method: passthrough
            """), _tmp.File("out"), Options, cts.Token));
        Assert.DoesNotContain(Directory.GetDirectories(_tmp.Path), d => Path.GetFileName(d).Contains("out"));
    }

    [Theory]
    [InlineData("[0, 7]", "[0, 7]", "slice 1: ./a layer_range [0, 7] goes past the end: the model has 6 layers (0..5)")]
    [InlineData("[0, 4]", "[0, 3]", "slice 1: its sources give 4 layers (./a [0, 4]), 3 layers (./b [0, 3]); every source of a slice must give the same number of layers")]
    [InlineData("[3, 3]", "[0, 3]", "'layer_range' must be [first, end]")]
    public void Bad_layer_ranges_fail_before_anything_is_written(string rangeA, string rangeB, string message)
    {
        TinyLlama.Write(_tmp.File("a"), 6, seed: 1);
        TinyLlama.Write(_tmp.File("b"), 6, seed: 2);
        var e = Assert.ThrowsAny<ModelSoupsException>(() => MergeEngine.Run(Recipe($$"""
            slices:
              - sources:
                  - {model: ./a, layer_range: {{rangeA}}}
                  - {model: ./b, layer_range: {{rangeB}}}
            merge_method: linear
            """), _tmp.File("out"), Options));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Theory]
    [InlineData("encoder.block.0.weight", "no tensor name has a layer number in a recognised form")]
    [InlineData("model.layers.0.w|model.layers.2.w", "the layer stack 'model.layers.' has no layer 1")]
    [InlineData("model.layers.0.w|vision.blocks.0.w", "tensor vision.blocks.0.w is in a second layer stack ('vision.blocks.' besides 'model.layers.')")]
    [InlineData("model.layers.0.w|head.0.weight", "tensor head.0.weight has a numbered part outside the layer stack 'model.layers.N.'")]
    public void Unrecognised_layouts_are_refused_naming_a_tensor(string names, string message)
    {
        ModelFolders.Write(_tmp.File("m"), names.Split('|').Select(n => (new TensorInfo(n, DType.F32, [2]), ModelFolders.Bytes(DType.F32, 1, 2))));
        var e = Assert.ThrowsAny<ModelSoupsException>(() => MergeEngine.Run(Recipe("""
            slices:
              - sources: [{model: ./m, layer_range: [0, 1]}]
            merge_method: passthrough
            """), _tmp.File("out"), Options));
        Assert.Contains(message, e.Message);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Fact]
    public void Sources_whose_layers_hold_different_tensors_are_listed()
    {
        TinyLlama.Write(_tmp.File("a"), 2, seed: 1);
        ModelFolders.Write(_tmp.File("b"), [
            (new TensorInfo("model.embed_tokens.weight", DType.BF16, [TinyLlama.Vocab, TinyLlama.Hidden]), new byte[TinyLlama.Vocab * TinyLlama.Hidden * 2]),
            (new TensorInfo("model.layers.0.mlp.up_proj.weight", DType.BF16, [TinyLlama.Intermediate, TinyLlama.Hidden]), new byte[TinyLlama.Intermediate * TinyLlama.Hidden * 2]),
        ]);
        var e = Assert.ThrowsAny<ModelSoupsException>(() => MergeEngine.Run(Recipe("""
            slices:
              - sources: [{model: ./a, layer_range: [1, 2]}, {model: ./b, layer_range: [0, 1]}]
            merge_method: linear
            """), _tmp.File("out"), Options));
        Assert.Contains("slice 1: layer 1 of ./a and layer 0 of ./b hold different tensors", e.Message);
        Assert.Contains("lm_head.weight (missing in ./b)", e.Message);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Fact]
    public void A_config_without_a_layer_count_is_refused_in_planning()
    {
        TinyLlama.Write(_tmp.File("a"), 3, seed: 1);
        File.WriteAllText(_tmp.File("a/config.json"), "{\"model_type\": \"odd\"}");
        var e = Assert.ThrowsAny<ModelSoupsException>(() => MergePlan.Create(Recipe("""
            slices:
              - sources: [{model: ./a, layer_range: [0, 2]}]
            merge_method: passthrough
            """), Options).Dispose());
        Assert.Contains("config.json has no layer count to update to 2", e.Message);
    }
}
