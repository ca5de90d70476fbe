using ModelSoups.Engine;
using ModelSoups.Merging;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Engine;
using ModelSoups.TestSupport;

namespace ModelSoups.Tests.Merging;

/// <summary>
/// The engine's guarantees for the methods added with mergekit's semantics: 1 vs N threads and any
/// block size give the same bits; the memory budget is respected or refused before writing;
/// --plan names the definition; mergekit's slerp form runs from a recipe.
/// </summary>
public sealed class MethodEngineTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    string Big(string n, int seed) => ModelFolders.Write(_tmp.File(n), ModelFolders.Tiny(DType.F32, seed, rows: 64, cols: 96));

    // (method, models used of x/y/z, base?, density, settings)
    static readonly Dictionary<string, (int Models, bool Base, double? Density, string[] Settings)> Setups = new()
    {
        ["della"] = (3, true, 0.5, ["random_seed=42", "epsilon=0.1"]),
        ["della_linear"] = (3, true, 0.5, ["random_seed=7"]),
        ["dare_linear"] = (3, true, 0.5, ["random_seed=42"]),
        ["breadcrumbs_ties"] = (3, true, 0.5, []),
        ["sce"] = (3, true, null, ["select_topk=0.5"]),
        ["nuslerp"] = (2, false, null, ["nuslerp_flatten=false"]),
        ["multislerp"] = (3, true, null, []),
        ["karcher"] = (3, false, null, []),
        ["nearswap"] = (1, true, null, ["t=0.3"]),
        ["arcee_fusion"] = (1, true, null, []),
        ["slerp"] = (1, true, null, ["t=0.3"]),
        ["model_stock"] = (3, true, null, ["filter_wise=true"]),
        ["ram"] = (3, true, null, ["epsilon=0.5"]),
        ["ramplus_tl"] = (3, true, null, ["epsilon=0.5", "r=0.5"]),
    };

    public static TheoryData<string> Methods() => [.. Setups.Keys];

    Recipe R(string method, string b, string[] models)
    {
        var s = Setups[method];
        // DELLA's epsilon is per model in mergekit; the quick form sets per-model values through the recipe, so use YAML for it.
        var perModel = method.StartsWith("della") ? s.Settings.Where(x => x.StartsWith("epsilon=")).Select(x => x["epsilon=".Length..]).FirstOrDefault() : null;
        var global = s.Settings.Where(x => perModel is null || !x.StartsWith("epsilon=")).ToList();
        if (perModel is null)
            return QuickRecipe.Build(method, models.Take(s.Models).ToList(), s.Base ? b : null, density: s.Density, settings: global);
        var path = _tmp.File($"{method}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"merge_method: {method}\nbase_model: {b}\nmodels:\n"
            + string.Concat(models.Take(s.Models).Select(m => $"  - model: {m}\n    parameters: {{density: {s.Density}, epsilon: {perModel}}}\n"))
            + string.Concat(global.Where(g => g.StartsWith("random_seed=")).Select(g => $"random_seed: {g[12..]}\n")));
        return RecipeParser.ParseFile(path);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Output_is_bit_identical_for_one_or_many_threads_and_any_block_size(string method)
    {
        var b = Big("base", 10); string[] xs = [Big("x", 11), Big("y", 12), Big("z", 13)];
        MergeEngine.Run(R(method, b, xs), _tmp.File("one"), new MergeOptions { Threads = 1, MemoryBudgetBytes = 64 << 20 });
        MergeEngine.Run(R(method, b, xs), _tmp.File("many"), new MergeOptions { Threads = 4, MemoryBudgetBytes = 1 << 20, MaxBlockElements = 100 });
        var one = ModelFolders.ReadBytes(_tmp.File("one"));
        var many = ModelFolders.ReadBytes(_tmp.File("many"));
        Assert.Equal(one.Keys, many.Keys);
        foreach (var k in one.Keys) Assert.Equal(one[k], many[k]);
        // The merge did something: some merged tensor differs from the base (or the first model).
        var reference = ModelFolders.ReadBytes(Setups[method].Base ? b : xs[0]);
        Assert.Contains(one, p => p.Key.Contains("mlp.weight") && !p.Value.SequenceEqual(reference[p.Key]));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Memory_budget_is_kept_or_refused_before_writing(string method)
    {
        var b = Big("base", 10); string[] xs = [Big("x", 11), Big("y", 12), Big("z", 13)];
        long need;
        using (var plan = MergePlan.Create(R(method, b, xs), new MergeOptions { MemoryBudgetBytes = 64 << 20 }))
            need = plan.Tasks.Where(t => t.Action == TensorAction.Merge && !t.Elementwise).Select(t => plan.WorkingBytes(t, t.Output.ElementCount)).DefaultIfEmpty(0).Max();
        if (need == 0) return; // element-wise (nearswap): streams in blocks under any budget, covered above
        var s = MergeEngine.Run(R(method, b, xs), _tmp.File("fits"), new MergeOptions { Threads = 2, MemoryBudgetBytes = need });
        Assert.InRange(s.PeakWorkingBytes, 1, need);
        var e = Assert.Throws<ModelSoupsException>(() =>
            MergeEngine.Run(R(method, b, xs), _tmp.File("tight"), new MergeOptions { Threads = 2, MemoryBudgetBytes = need - 1 }));
        Assert.Contains("memory budget", e.Message);
        Assert.False(Directory.Exists(_tmp.File("tight")));
    }

    [Theory]
    [InlineData("ties", "definition  mergekit ties:")]
    [InlineData("dare_ties", "definition  mergekit dare_ties:")]
    [InlineData("breadcrumbs", "indices[n_bot:-0]")]
    [InlineData("task_arithmetic", "density is ignored, as in mergekit")]
    public void Plan_names_the_definition_and_differences(string method, string expected)
    {
        var b = Big("base", 10); var x = Big("x", 11);
        using var plan = MergePlan.Create(QuickRecipe.Build(method, [x], b, density: 0.5), new MergeOptions());
        Assert.Contains(expected, plan.Describe(new MergeOptions(), _tmp.File("out")));
        using var peft = MergePlan.Create(QuickRecipe.Build("ties", [x], b, density: 0.5, settings: ["ties_variant=peft"]), new MergeOptions());
        Assert.Contains("definition  ties_variant peft", peft.Describe(new MergeOptions(), _tmp.File("out")));
    }

    [Fact]
    public void Mergekit_slerp_recipe_with_the_base_among_the_models_runs_from_the_base()
    {
        // mergekit's usual slerp: base_model is one of the two models; t = 0 returns the base and
        // t = 1 the other model exactly (coefficients exactly 1 and 0).
        var a = Big("a", 1); var o = Big("o", 2);
        foreach (var t in new[] { 0, 1 })
        {
            var path = _tmp.File($"slerp{t}.yaml");
            File.WriteAllText(path, $"merge_method: slerp\nbase_model: {a}\nmodels:\n  - model: {a}\n  - model: {o}\nparameters:\n  t: {t}\ndtype: float32\n");
            MergeEngine.Run(RecipeParser.ParseFile(path), _tmp.File($"out{t}"), new MergeOptions());
            // Values, not bytes: 0·a + 1·(−0) is +0, in mergekit's arithmetic as in ours.
            Assert.Equal(ModelFolders.ReadFloats(t == 0 ? a : o), ModelFolders.ReadFloats(_tmp.File($"out{t}")));
        }
    }

    [Fact]
    public void Gradient_gives_lm_head_and_final_norm_the_start_value()
    {
        // passthrough with scale as a gradient [0.5, 2] over 2 layers: layer 0 → 0.5, layer 1 → 2,
        // embeddings and the final norm (outside the stack) → 0.5 (mergekit plan.py: t = 0).
        var a = Big("a", 1);
        var path = _tmp.File("scale.yaml");
        File.WriteAllText(path, $"merge_method: passthrough\nmodels:\n  - model: {a}\n    parameters:\n      scale: [0.5, 2]\n");
        MergeEngine.Run(RecipeParser.ParseFile(path), _tmp.File("out"), new MergeOptions());
        var input = ModelFolders.ReadFloats(a);
        var output = ModelFolders.ReadFloats(_tmp.File("out"));
        Assert.Equal(input["model.layers.0.mlp.weight"].Select(x => x * 0.5f), output["model.layers.0.mlp.weight"]);
        Assert.Equal(input["model.layers.1.mlp.weight"].Select(x => x * 2f), output["model.layers.1.mlp.weight"]);
        Assert.Equal(input["model.embed_tokens.weight"].Select(x => x * 0.5f), output["model.embed_tokens.weight"]);
        Assert.Equal(input["model.norm.weight"].Select(x => x * 0.5f), output["model.norm.weight"]);
    }

    [Fact]
    public void Each_layer_stack_uses_its_own_layer_count()
    {
        // A vision stack of 2 layers and a text stack of 3: the gradient [0, 1] gives vision layer 1
        // t = 1/1 = 1 and text layer 1 t = 1/2 (not 1/(3 − 1) for both).
        byte[] Ones(int n) => ModelFolders.Bytes(DType.F32, Enumerable.Repeat(1f, n).ToArray());
        var tensors = new List<(TensorInfo, byte[])>();
        for (int l = 0; l < 2; l++) tensors.Add((new TensorInfo($"vision_tower.encoder.layers.{l}.w", DType.F32, [2]), Ones(2)));
        for (int l = 0; l < 3; l++) tensors.Add((new TensorInfo($"language_model.model.layers.{l}.w", DType.F32, [2]), Ones(2)));
        var a = ModelFolders.Write(_tmp.File("vlm"), tensors);
        var path = _tmp.File("vlm.yaml");
        File.WriteAllText(path, $"merge_method: passthrough\nmodels:\n  - model: {a}\n    parameters:\n      scale: [0, 1]\n");
        MergeEngine.Run(RecipeParser.ParseFile(path), _tmp.File("out"), new MergeOptions());
        var output = ModelFolders.ReadFloats(_tmp.File("out"));
        Assert.Equal([1f, 1f], output["vision_tower.encoder.layers.1.w"]);
        Assert.Equal([0.5f, 0.5f], output["language_model.model.layers.1.w"]);
        Assert.Equal([1f, 1f], output["language_model.model.layers.2.w"]);
    }
}
