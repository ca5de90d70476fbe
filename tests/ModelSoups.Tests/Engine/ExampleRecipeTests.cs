using System.Text.RegularExpressions;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary>Every recipe in examples/ runs: models are made at the paths it names, then merged.</summary>
public sealed partial class ExampleRecipeTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static string ExamplesFolder()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "examples"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? throw new DirectoryNotFoundException("examples/ not found above the test binaries"), "examples");
    }

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(ExamplesFolder(), "*.yaml").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [GeneratedRegex(@"model:\s*(\./[\w.-]+)")]
    private static partial Regex ModelPath();

    static List<(TensorInfo, byte[])> EightLayerModel(int seed)
    {
        var rng = new Random(seed);
        byte[] Values(int n) => ModelFolders.Bytes(DType.BF16, Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray());
        var list = new List<(TensorInfo, byte[])> { (new TensorInfo("model.embed_tokens.weight", DType.BF16, [16, 8]), Values(128)) };
        for (int l = 0; l < 8; l++)
        {
            list.Add((new TensorInfo($"model.layers.{l}.self_attn.q_proj.weight", DType.BF16, [8, 8]), Values(64)));
            list.Add((new TensorInfo($"model.layers.{l}.mlp.up_proj.weight", DType.BF16, [16, 8]), Values(128)));
        }
        list.Add((new TensorInfo("model.norm.weight", DType.BF16, [8]), Values(8)));
        return list;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_recipe_merges(string file)
    {
        var text = File.ReadAllText(Path.Combine(ExamplesFolder(), file));
        var recipePath = _tmp.File(file);
        File.WriteAllText(recipePath, text);
        int seed = 0;
        foreach (var path in ModelPath().Matches(text).Select(m => m.Groups[1].Value).Distinct())
            ModelFolders.Write(_tmp.File(path[2..]), EightLayerModel(++seed), config: "{\"model_type\": \"llama\", \"num_hidden_layers\": 8}");
        var options = new MergeOptions { Threads = 2, MemoryBudgetBytes = 16 << 20 };
        int layers = 8;
        MergeSummary summary;
        if (RecipeParser.CountDocuments(recipePath) > 1)
            summary = RecipeChain.Run(RecipeChain.Plan(recipePath, _tmp.File("out"), _tmp.File("work")), options)[^1].Summary!;
        else
        {
            var recipe = RecipeParser.ParseFile(recipePath);
            // slices: the output has as many layers as the slices give.
            if (recipe.Slices is { } slices) layers = slices.Sum(s => s.Sources[0].Length);
            summary = MergeEngine.Run(recipe, _tmp.File("out"), options);
        }
        Assert.Equal(2 + 2 * layers, summary.TensorsMerged + summary.TensorsCopied);
        var merged = ModelFolders.ReadFloats(_tmp.File("out"));
        Assert.All(merged.Values, v => Assert.All(v, x => Assert.True(float.IsFinite(x))));
    }
}
