using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

public sealed class MergeEngineTests : IDisposable
{
    readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    static readonly MergeOptions Options = new() { Threads = 2, MemoryBudgetBytes = 64 << 20 };

    string Model(string name, DType type, int seed, long counter = 7, long maxShard = 5_000_000_000) =>
        ModelFolders.Write(_tmp.File(name), ModelFolders.Tiny(type, seed, counter), maxShard);

    Recipe Yaml(string yaml)
    {
        var path = _tmp.File("recipe-" + Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, yaml);
        return RecipeParser.ParseFile(path);
    }

    [Fact]
    public void Inputs_the_caller_has_open_are_read_from_those_and_left_open()
    {
        var a = Model("a", DType.BF16, 1);
        var b = Model("b", DType.BF16, 2);
        using var openA = Checkpoint.Open(a);
        var lent = new Dictionary<string, ICheckpoint> { [Path.GetFullPath(a)] = openA };
        MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _tmp.File("lent"), Options with { OpenedInputs = lent });
        MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _tmp.File("opened"), Options);
        // The same soup either way, and the lent checkpoint is still open (its tensors readable) after the plan closed.
        var lentSoup = ModelFolders.ReadFloats(_tmp.File("lent"));
        var ownSoup = ModelFolders.ReadFloats(_tmp.File("opened"));
        foreach (var (name, values) in ownSoup) Assert.Equal(values, lentSoup[name]);
        Assert.All(openA.Tensors.Values, t => Assert.Equal(t.ByteLength, t.GetBytes().Length));
    }

    [Fact]
    public void Uniform_soup_of_sharded_bf16_folders_is_the_rounded_mean()
    {
        // Small shards force every model onto several files.
        var a = Model("a", DType.BF16, 1, maxShard: 64);
        var b = Model("b", DType.BF16, 2, maxShard: 64);
        var c = Model("c", DType.BF16, 3, maxShard: 64);
        var summary = MergeEngine.Run(QuickRecipe.Build("linear", [a, b, c]), _tmp.File("out"), Options with { MaxShardBytes = 100 });

        Assert.True(summary.ShardFiles.Count > 1);
        var fa = ModelFolders.ReadFloats(a); var fb = ModelFolders.ReadFloats(b); var fc = ModelFolders.ReadFloats(c);
        var merged = ModelFolders.ReadFloats(_tmp.File("out"));
        Assert.Equal(fa.Keys.Order(), merged.Keys.Order());
        foreach (var (name, got) in merged)
        {
            // The mean of the bf16 values (exact in f32 here), rounded once to bf16.
            var expected = fa[name].Select((x, i) => (x + fb[name][i] + fc[name][i]) / 3f).ToArray();
            var rounded = new float[expected.Length];
            DTypeConversion.ToSingle(DType.BF16, ModelFolders.Bytes(DType.BF16, expected), rounded);
            Assert.Equal(rounded, got);
        }
        using var outCk = Checkpoint.Open(_tmp.File("out"));
        Assert.All(outCk.Tensors.Values.Where(t => t.DType.IsFloat()), t => Assert.Equal(DType.BF16, t.DType));
        Assert.Equal(7L, BitConverter.ToInt64(outCk.Tensors["bn.num_batches_tracked"].GetBytes()));
    }

    [Fact]
    public void Golden_linear_weights_with_f32_output()
    {
        var a = ModelFolders.Write(_tmp.File("a"), [(new TensorInfo("w", DType.F32, [3]), ModelFolders.Bytes(DType.F32, 1, 2, 3))]);
        var b = ModelFolders.Write(_tmp.File("b"), [(new TensorInfo("w", DType.F32, [3]), ModelFolders.Bytes(DType.F32, 5, 6, -3))]);
        MergeEngine.Run(QuickRecipe.Build("linear", [a, b], weights: [3, 1]), _tmp.File("out"), Options);
        // (3·[1,2,3] + 1·[5,6,−3]) / 4 = [2, 3, 1.5]
        Assert.Equal([2f, 3f, 1.5f], ModelFolders.ReadFloats(_tmp.File("out"))["w"]);
    }

    [Theory]
    [InlineData("ties")]
    [InlineData("dare_ties")]
    [InlineData("breadcrumbs")]
    [InlineData("model_stock")]
    [InlineData("linear")]
    public void Output_is_bit_identical_for_one_or_many_threads_and_any_block_size(string method)
    {
        var rows = 64; var cols = 96;
        string Big(string n, int seed) => ModelFolders.Write(_tmp.File(n), ModelFolders.Tiny(DType.F32, seed, rows: rows, cols: cols));
        var b = Big("base", 10); var x = Big("x", 11); var y = Big("y", 12); var z = Big("z", 13);
        var density = method is "ties" or "dare_ties" or "breadcrumbs" ? 0.5 : (double?)null;
        Recipe R() => QuickRecipe.Build(method, [x, y, z], basePath: method == "linear" ? null : b, density: density,
            settings: method == "dare_ties" ? ["random_seed=42"] : null);
        MergeEngine.Run(R(), _tmp.File("one"), new MergeOptions { Threads = 1, MemoryBudgetBytes = 64 << 20 });
        // A tiny budget forces 1-element blocks... of whole-tensor methods it needs the whole tensor, so keep it above that.
        MergeEngine.Run(R(), _tmp.File("many"), new MergeOptions { Threads = 4, MemoryBudgetBytes = 1 << 20, MaxBlockElements = 100 });
        var one = ModelFolders.ReadBytes(_tmp.File("one"));
        var many = ModelFolders.ReadBytes(_tmp.File("many"));
        Assert.Equal(one.Keys, many.Keys);
        foreach (var k in one.Keys) Assert.Equal(one[k], many[k]);
    }

    [Fact]
    public void Dare_depends_on_the_seed()
    {
        var b = Model("base", DType.F32, 1); var x = Model("x", DType.F32, 2); var y = Model("y", DType.F32, 3);
        MergeEngine.Run(QuickRecipe.Build("dare_linear", [x, y], b, density: 0.5, settings: ["random_seed=1"]), _tmp.File("s1"), Options);
        MergeEngine.Run(QuickRecipe.Build("dare_linear", [x, y], b, density: 0.5, settings: ["random_seed=2"]), _tmp.File("s2"), Options);
        Assert.NotEqual(ModelFolders.ReadBytes(_tmp.File("s1"))["model.layers.0.mlp.weight"], ModelFolders.ReadBytes(_tmp.File("s2"))["model.layers.0.mlp.weight"]);
    }

    [Fact]
    public void Working_memory_stays_under_a_budget_much_smaller_than_the_model()
    {
        // 3 inputs × 4 MiB of f32 each; a 1 MiB budget: blocks must stream.
        var big = Enumerable.Range(0, 3).Select(i => ModelFolders.Write(_tmp.File($"m{i}"),
            [(new TensorInfo("w", DType.F32, [1024, 1024]), ModelFolders.Bytes(DType.F32, Enumerable.Range(0, 1 << 20).Select(j => (float)((j * (i + 1)) % 97)).ToArray()))])).ToList();
        var budget = 1L << 20;
        var s = MergeEngine.Run(QuickRecipe.Build("linear", big), _tmp.File("out"), new MergeOptions { Threads = 2, MemoryBudgetBytes = budget });
        Assert.InRange(s.PeakWorkingBytes, 1, budget);
        var w = ModelFolders.ReadFloats(_tmp.File("out"))["w"];
        Assert.Equal((0 + 0 + 0) / 3f, w[0]);
        Assert.Equal((float)((5 % 97 + 10 % 97 + 15 % 97) / 3.0), w[5]);
    }

    [Fact]
    public void A_whole_tensor_method_that_cannot_fit_the_budget_fails_before_writing()
    {
        var b = Model("base", DType.F32, 1); var x = Model("x", DType.F32, 2);
        var e = Assert.Throws<ModelSoupsException>(() =>
            MergeEngine.Run(QuickRecipe.Build("ties", [x], b, density: 0.5), _tmp.File("out"), new MergeOptions { MemoryBudgetBytes = 64 }));
        Assert.Contains("memory budget", e.Message);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Fact]
    public void Non_float_tensors_come_from_the_base_and_differences_are_reported()
    {
        var b = Model("base", DType.F32, 1, counter: 100); var x = Model("x", DType.F32, 2, counter: 5); var y = Model("y", DType.F32, 3, counter: 6);
        var s = MergeEngine.Run(QuickRecipe.Build("task_arithmetic", [x, y], b), _tmp.File("out"), Options);
        Assert.Equal(100L, BitConverter.ToInt64(ModelFolders.ReadBytes(_tmp.File("out"))["bn.num_batches_tracked"]));
        Assert.Contains(s.Notes, n => n.Contains("bn.num_batches_tracked"));
        Assert.Equal(1, s.TensorsCopied);
    }

    [Fact]
    public void Missing_tensors_and_shape_mismatches_are_listed_and_nothing_is_written()
    {
        var a = Model("a", DType.F32, 1);
        var t = ModelFolders.Tiny(DType.F32, 2);
        t.RemoveAll(p => p.Item1.Name == "model.norm.weight");
        t[0] = (new TensorInfo("model.embed_tokens.weight", DType.F32, [6, 4]), t[0].Item2);
        var b = ModelFolders.Write(_tmp.File("b"), t);
        var e = Assert.Throws<ModelSoupsException>(() => MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _tmp.File("out"), Options));
        Assert.Contains("model.norm.weight (missing in", e.Message);
        Assert.Contains("model.embed_tokens.weight (shapes [4, 6] vs [6, 4])", e.Message);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Fact]
    public void Allow_missing_takes_such_tensors_from_the_base()
    {
        var b = Model("base", DType.F32, 1);
        var t = ModelFolders.Tiny(DType.F32, 2);
        t.RemoveAll(p => p.Item1.Name == "model.norm.weight");
        var x = ModelFolders.Write(_tmp.File("x"), t);
        var r = Yaml($"merge_method: task_arithmetic\nbase_model: {b}\nmodels: [{{model: {x}}}]\nallow_missing: true\n");
        var s = MergeEngine.Run(r, _tmp.File("out"), Options);
        Assert.Equal(ModelFolders.ReadBytes(b)["model.norm.weight"], ModelFolders.ReadBytes(_tmp.File("out"))["model.norm.weight"]);
        Assert.Contains(s.Notes, n => n.Contains("model.norm.weight"));
    }

    [Fact]
    public void Output_records_config_recipe_and_input_hashes()
    {
        var a = Model("a", DType.F16, 1); var b = Model("b", DType.F16, 2);
        MergeEngine.Run(QuickRecipe.Build("linear", [a, b], outDType: "float32"), _tmp.File("out"), Options);
        var outDir = _tmp.File("out");
        // The source's config, with out_dtype recorded as torch_dtype (as mergekit writes it); nothing else changes.
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!.AsObject();
        Assert.Equal(["model_type", "torch_dtype"], config.Select(p => p.Key));
        Assert.Equal("tiny", (string)config["model_type"]!);
        Assert.Equal("float32", (string)config["torch_dtype"]!);
        var yaml = File.ReadAllText(Path.Combine(outDir, MergeEngine.RecipeFileName));
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(a, "model.safetensors"))));
        Assert.Contains(sha, yaml);
        // The record is itself a runnable recipe.
        var again = RecipeParser.Parse(yaml, Path.Combine(outDir, MergeEngine.RecipeFileName));
        Assert.Equal("linear", again.MergeMethod);
        Assert.Equal(DType.F32, again.OutDType);
        MergeEngine.Run(again, _tmp.File("again"), Options);
        Assert.Equal(ModelFolders.ReadBytes(outDir), ModelFolders.ReadBytes(_tmp.File("again")));
        using var ck = Checkpoint.Open(outDir);
        Assert.Equal("pt", ck.Metadata["format"]);
        Assert.Contains(sha, ck.Metadata["soup_recipe"]);
        Assert.All(ck.Tensors.Values.Where(t => t.Name != "bn.num_batches_tracked"), t => Assert.Equal(DType.F32, t.DType));
    }

    [Fact]
    public void Refuses_to_write_into_an_input_folder()
    {
        var a = Model("a", DType.F32, 1); var b = Model("b", DType.F32, 2);
        var before = ModelFolders.ReadBytes(a);
        var e = Assert.Throws<ModelSoupsException>(() => MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), a, Options with { Overwrite = true }));
        Assert.Contains("overlaps the input", e.Message);
        Assert.Throws<ModelSoupsException>(() => MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _tmp.Path, Options with { Overwrite = true }));
        Assert.Equal(before, ModelFolders.ReadBytes(a));
    }

    [Fact]
    public void A_cancelled_merge_leaves_no_destination_and_no_temp_folder()
    {
        var a = Model("a", DType.F32, 1); var b = Model("b", DType.F32, 2);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _tmp.File("out"), Options, cts.Token));
        Assert.False(Directory.Exists(_tmp.File("out")));
        Assert.DoesNotContain(Directory.GetDirectories(_tmp.Path), d => Path.GetFileName(d).Contains("out"));
    }

    [Fact]
    public void A_failing_method_leaves_an_existing_destination_untouched()
    {
        var a = Model("a", DType.F32, 1); var b = Model("b", DType.F32, 2);
        MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _tmp.File("out"), Options);
        var before = ModelFolders.ReadBytes(_tmp.File("out"));
        // slerp needs exactly two models: fails in planning, before the writer exists.
        Assert.Throws<ModelSoupsException>(() => MergeEngine.Run(QuickRecipe.Build("slerp", [a, b, a], settings: ["t=0.5"]), _tmp.File("out"), Options with { Overwrite = true }));
        Assert.Equal(before, ModelFolders.ReadBytes(_tmp.File("out")));
    }

    [Fact]
    public void Plan_describes_without_writing()
    {
        var b = Model("base", DType.BF16, 1); var x = Model("x", DType.BF16, 2);
        using var plan = MergePlan.Create(QuickRecipe.Build("ties", [x], b, density: 0.3), Options);
        var text = plan.Describe(Options, _tmp.File("out"));
        Assert.Contains("method      ties", text);
        Assert.Contains("6 (5 merged, 1 copied); 2 layers", text);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Fact]
    public void Parameters_out_of_range_fail_in_planning()
    {
        var b = Model("base", DType.F32, 1); var x = Model("x", DType.F32, 2);
        Assert.Contains("density", Assert.ThrowsAny<ModelSoupsException>(() => MergePlan.Create(QuickRecipe.Build("ties", [x], b, density: 1.5), Options)).Message);
        Assert.Contains("base", Assert.ThrowsAny<ModelSoupsException>(() => MergePlan.Create(QuickRecipe.Build("ties", [x]), Options)).Message);
        Assert.Contains("gamma", Assert.ThrowsAny<ModelSoupsException>(() => MergePlan.Create(QuickRecipe.Build("breadcrumbs", [x], b, settings: ["gamma=-0.1"]), Options)).Message);
        Assert.Contains("unknown merge_method", Assert.ThrowsAny<ModelSoupsException>(() => MergePlan.Create(QuickRecipe.Build("soupify", [x]), Options)).Message);
    }

    [Fact]
    public void Mergekit_int8_mask_is_accepted_and_changes_nothing()
    {
        var b = Model("base", DType.F32, 1); var x = Model("x", DType.F32, 2); var y = Model("y", DType.F32, 3);
        string Recipe(string extra) => $"merge_method: ties\nbase_model: {b}\nmodels: [{{model: {x}, parameters: {{density: 0.5}}}}, {{model: {y}, parameters: {{density: 0.5}}}}]\nparameters: {{normalize: true{extra}}}\n";
        MergeEngine.Run(Yaml(Recipe(", int8_mask: true")), _tmp.File("with"), Options);
        MergeEngine.Run(Yaml(Recipe("")), _tmp.File("without"), Options);
        Assert.Equal(ModelFolders.ReadBytes(_tmp.File("without")), ModelFolders.ReadBytes(_tmp.File("with")));
    }

    // The engine's 16-bit TIES path (BFloat16TaskVectorMerge: bf16 inputs handed to the method as they are in the file,
    // the bf16 output written by the kernel) against the converted path: the same values stored as f32 checkpoints go
    // through f32 buffers and the method's f32 merge; rounding that output to bf16 must give the bf16 merge's bytes.
    // bf16-exact values (so the f32 twin holds the same numbers): a large tensor (sampled cuts, shared pass over the
    // base), a small one (full selection) and a vector; one model with NaN and ±Inf entries.
    static readonly (string Name, long[] Shape)[] TiesTensors =
        [("model.layers.0.mlp.weight", [7, 10_001]), ("model.layers.0.attn.weight", [35, 37]), ("model.norm.weight", [37])];

    static float[][] TiesValues(int seed, bool nonFinite)
    {
        var rng = new Random(seed);
        return [.. TiesTensors.Select(t => Enumerable.Range(0, (int)t.Shape.Aggregate(1L, (a, d) => a * d)).Select(j =>
            nonFinite && j % 997 == 3 ? (j % 3 == 0 ? float.NaN : j % 3 == 1 ? float.PositiveInfinity : float.NegativeInfinity)
            : BFloat16Kernels.ToSingle(BFloat16Kernels.FromSingle((float)(rng.NextDouble() * 0.1 - 0.05)))).ToArray())];
    }

    string TiesModel(string name, DType type, float[][] values) =>
        ModelFolders.Write(_tmp.File(name), [.. TiesTensors.Select((t, i) => (new TensorInfo(t.Name, type, t.Shape), ModelFolders.Bytes(type, values[i])))]);

    [Theory]
    [InlineData("mergekit", 0.5, 1)]
    [InlineData("peft", 0.3, 2)]
    public void Bf16_ties_merge_equals_the_converted_f32_merge_rounded(string variant, double density, int threads)
    {
        var sets = Enumerable.Range(0, 4).Select(i => TiesValues(i + 1, nonFinite: i == 2)).ToArray();
        string[] Models(DType type) => [.. sets.Skip(1).Select((v, i) => TiesModel($"{type}-m{i}", type, v))];
        Recipe Recipe(DType type) => QuickRecipe.Build("ties", Models(type), TiesModel($"{type}-base", type, sets[0]), density: density,
            settings: [$"ties_variant={variant}", "lambda=0.9"]);
        var options = new MergeOptions { Threads = threads, HashInputs = false };
        var bf16 = MergeEngine.Run(Recipe(DType.BF16), _tmp.File("bf16-out"), options);
        MergeEngine.Run(Recipe(DType.F32), _tmp.File("f32-out"), options);
        var actual = ModelFolders.ReadBytes(_tmp.File("bf16-out"));
        foreach (var (name, f32) in ModelFolders.ReadFloats(_tmp.File("f32-out")))
            Assert.Equal(ModelFolders.Bytes(DType.BF16, f32), actual[name]);
        // The non-finite entries of the third model are counted on its staged bytes, as on the converted path.
        Assert.Contains(bf16.Notes, n => n.Contains("non-finite", StringComparison.OrdinalIgnoreCase));
    }
}
