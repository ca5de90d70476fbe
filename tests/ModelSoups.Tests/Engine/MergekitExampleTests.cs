using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary>
/// mergekit's own example recipes (arcee-ai/mergekit, examples/), byte for byte as published, run on
/// tiny Llama-shaped folders laid out under the model names they use, relative to the recipe
/// (<c>psmathur/orca_mini_v3_13b</c> becomes the folder <c>./psmathur/orca_mini_v3_13b</c>).
/// </summary>
public sealed partial class MergekitExampleTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static readonly MergeOptions Options = new() { Threads = 2, MemoryBudgetBytes = 16 << 20 };

    // examples/linear.yml at bc62b546e2bbb0cf92b4a895def48c45cc1c1e44
    const string Linear = """
        models:
          - model: psmathur/orca_mini_v3_13b
            parameters:
              weight: 1.0
          - model: WizardLM/WizardLM-13B-V1.2
            parameters:
              weight: 0.3
          - model: garage-bAInd/Platypus2-13B
            parameters:
              weight: 0.5
        merge_method: linear
        dtype: float16
        """;

    // examples/ties.yml at a9e23f0d35e861d47b99720f4771090e81839eb3
    const string Ties = """
        models:
          - model: psmathur/orca_mini_v3_13b
            parameters:
              density: [1, 0.7, 0.1] # density gradient
              weight: 1.0
          - model: garage-bAInd/Platypus2-13B
            parameters:
              density: 0.5
              weight: [0, 0.3, 0.7, 1] # weight gradient
          - model: WizardLM/WizardMath-13B-V1.0
            parameters:
              density: 0.33
              weight:
                - filter: mlp
                  value: 0.5
                - value: 0
        merge_method: ties
        base_model: TheBloke/Llama-2-13B-fp16
        parameters:
          normalize: true
          int8_mask: true
        dtype: float16
        """;

    // examples/bio-merge.yml at 7ee1c40305080932438e1cfc9d42274ac6906a89
    const string BioMerge = """
        models:
          - model: mistralai/Mistral-7B-Instruct-v0.2
            parameters:
              density: 0.5
              weight: 0.5
          - model: BioMistral/BioMistral-7B
            parameters:
              density: 0.5
              weight: 0.5
        merge_method: ties
        base_model: mistralai/Mistral-7B-v0.1
        parameters:
          normalize: false
          int8_mask: true
        dtype: float16
        """;

    // examples/gradient-slerp.yml at bc62b546e2bbb0cf92b4a895def48c45cc1c1e44
    const string GradientSlerp = """
        slices:
          - sources:
              - model: psmathur/orca_mini_v3_13b
                layer_range: [0, 40]
              - model: garage-bAInd/Platypus2-13B
                layer_range: [0, 40]
        # or, the equivalent models: syntax:
        # models:
        #   - model: psmathur/orca_mini_v3_13b
        #   - model: garage-bAInd/Platypus2-13B
        merge_method: slerp
        base_model: psmathur/orca_mini_v3_13b
        parameters:
          t:
            - filter: self_attn
              value: [0, 0.5, 0.3, 0.7, 1]
            - filter: mlp
              value: [1, 0.5, 0.7, 0.3, 0]
            - value: 0.5 # fallback for rest of tensors
        dtype: float16
        """;

    // examples/orcamini-platy-44layer.yml at 4643a472fb305d3670497f2546503f2725318444
    const string OrcaminiPlaty44 = """
        slices:
          - sources:
            - model: psmathur/orca_mini_v3_13b
              layer_range: [0, 24]
          - sources:
            - model: garage-bAInd/Platypus2-13B
              layer_range: [20, 40]
        merge_method: passthrough
        dtype: float16
        """;

    // examples/arcee_fusion.yml at 86c30b6f2c67270ec97f514740d8ff214d2a46c6
    const string ArceeFusion = """
        models:
          - model: model_a
          - model: model_b
        merge_method: arcee_fusion
        base_model: model_a
        dtype: bfloat16
        """;

    [GeneratedRegex(@"^\s*-?\s*(?:model|base_model):\s*([^\s#]+)", RegexOptions.Multiline)]
    private static partial Regex ModelName();

    /// <summary>Writes the recipe and a 40-layer f16 model at every name it uses; returns the recipe path.</summary>
    string Lay(string recipe, string file, int layers = 40)
    {
        int seed = 0;
        var path = _tmp.File(file);
        var root = Path.GetDirectoryName(path)!;
        foreach (var name in ModelName().Matches(recipe).Select(m => m.Groups[1].Value).Distinct())
            TinyLlama.Write(Path.Combine(root, name), layers, ++seed, DType.F16);
        File.WriteAllText(path, recipe);
        return path;
    }

    Dictionary<string, float[]> Read(string name) => ModelFolders.ReadFloats(_tmp.File(name));

    JsonNode Config(string folder) => JsonNode.Parse(File.ReadAllText(Path.Combine(_tmp.File(folder), "config.json")))!;

    static void AllF16(string folder)
    {
        using var ck = ModelSoups.Checkpoints.Checkpoint.Open(folder);
        Assert.All(ck.Tensors.Values, t => Assert.Equal(DType.F16, t.DType));
    }

    [Fact]
    public void Linear_yml_gives_the_normalised_weighted_mean_in_float16()
    {
        MergeEngine.Run(RecipeParser.ParseFile(Lay(Linear, "linear.yml")), _tmp.File("out"), Options);
        var o = Read("psmathur/orca_mini_v3_13b");
        var w = Read("WizardLM/WizardLM-13B-V1.2");
        var p = Read("garage-bAInd/Platypus2-13B");
        var m = Read("out");
        Assert.Equal(o.Keys.Order(), m.Keys.Order());
        // mergekit linear (normalize: true): (1.0 o + 0.3 w + 0.5 p) / 1.8, written in dtype float16.
        // 16-bit inputs are summed in f32 (Soups/Accumulation) and rounded once to f16; mergekit computes in
        // f16 itself. Both are within one f16 ulp of the exact mean, which is what the issue asks: check that.
        foreach (var (name, got) in m)
            for (int i = 0; i < got.Length; i++)
            {
                var exact = (Half)((1.0 * o[name][i] + 0.3 * w[name][i] + 0.5 * p[name][i]) / 1.8);
                int ulps = Math.Abs(BitConverter.HalfToInt16Bits(exact) - BitConverter.HalfToInt16Bits((Half)got[i]));
                Assert.True(ulps <= 1 && Half.IsNegative(exact) == Half.IsNegative((Half)got[i]) || exact == (Half)got[i],
                    $"{name}[{i}]: {got[i]} is {ulps} f16 ulps from {(float)exact}");
            }
        AllF16(_tmp.File("out"));
        Assert.Equal("float16", (string)Config("out")["torch_dtype"]!);
    }

    [Theory]
    [InlineData("ties")]
    [InlineData("bio-merge")]
    public void Ties_examples_run_unchanged_and_write_float16(string which)
    {
        // The values TIES gives are checked against mergekit's definition in the method's own tests
        // (mkmethods, #12a); here: the recipe runs as published and the output has the right form.
        var recipe = which == "ties" ? Ties : BioMerge;
        MergeEngine.Run(RecipeParser.ParseFile(Lay(recipe, which + ".yml")), _tmp.File("out"), Options);
        var first = Read(ModelName().Match(recipe).Groups[1].Value);
        var m = Read("out");
        Assert.Equal(first.Keys.Order(), m.Keys.Order());
        foreach (var (name, got) in m)
        {
            Assert.Equal(first[name].Length, got.Length);
            Assert.All(got, x => Assert.True(float.IsFinite(x)));
        }
        AllF16(_tmp.File("out"));
        Assert.Equal(40, (int)Config("out")["num_hidden_layers"]!);
        Assert.Equal("float16", (string)Config("out")["torch_dtype"]!);
    }

    [Fact]
    public void Orcamini_platy_44layer_yml_stacks_24_plus_20_layers()
    {
        MergeEngine.Run(RecipeParser.ParseFile(Lay(OrcaminiPlaty44, "orcamini-platy-44layer.yml")), _tmp.File("out"), Options);
        var orca = ModelFolders.ReadBytes(_tmp.File("psmathur/orca_mini_v3_13b"));
        var platy = ModelFolders.ReadBytes(_tmp.File("garage-bAInd/Platypus2-13B"));
        var o = ModelFolders.ReadBytes(_tmp.File("out"));
        Assert.Equal(3 + 44 * TinyLlama.LayerTensors.Length, o.Count);
        for (int j = 0; j < 44; j++)
            foreach (var (suffix, _) in TinyLlama.LayerTensors)
            {
                // f16 inputs written as f16: passthrough is exact.
                var expected = j < 24 ? orca[TinyLlama.LayerName(j, suffix)] : platy[TinyLlama.LayerName(j - 24 + 20, suffix)];
                Assert.True(expected.AsSpan().SequenceEqual(o[TinyLlama.LayerName(j, suffix)]), TinyLlama.LayerName(j, suffix));
            }
        Assert.True(orca["model.embed_tokens.weight"].AsSpan().SequenceEqual(o["model.embed_tokens.weight"]));
        Assert.True(platy["lm_head.weight"].AsSpan().SequenceEqual(o["lm_head.weight"]));
        Assert.Equal(44, (int)Config("out")["num_hidden_layers"]!);
        Assert.Equal("float16", (string)Config("out")["torch_dtype"]!);
    }

    [Fact]
    public void Gradient_slerp_yml_over_slices_equals_the_equivalent_models_recipe()
    {
        // The recipe's own comment: the slice over all 40 layers is equivalent to the models: form,
        // since both run the gradient over t = j / 39. Both must give the same bytes.
        MergeEngine.Run(RecipeParser.ParseFile(Lay(GradientSlerp, "gradient-slerp.yml")), _tmp.File("slices"), Options);
        var models = GradientSlerp
            .Replace("slices:\n  - sources:\n      - model: psmathur/orca_mini_v3_13b\n        layer_range: [0, 40]\n      - model: garage-bAInd/Platypus2-13B\n        layer_range: [0, 40]\n",
                     "models:\n  - model: psmathur/orca_mini_v3_13b\n  - model: garage-bAInd/Platypus2-13B\n");
        Assert.NotEqual(GradientSlerp, models);
        File.WriteAllText(_tmp.File("models.yml"), models);
        MergeEngine.Run(RecipeParser.ParseFile(_tmp.File("models.yml")), _tmp.File("models"), Options);
        var s = ModelFolders.ReadBytes(_tmp.File("slices"));
        var m = ModelFolders.ReadBytes(_tmp.File("models"));
        Assert.Equal(m.Keys.Order(), s.Keys.Order());
        foreach (var k in m.Keys) Assert.True(m[k].AsSpan().SequenceEqual(s[k]), k);
        // Layer 0's attention is at t = 0 (the base, orca) exactly; its MLP at t = 1 (platypus) exactly.
        var orca = ModelFolders.ReadBytes(_tmp.File("psmathur/orca_mini_v3_13b"));
        var platy = ModelFolders.ReadBytes(_tmp.File("garage-bAInd/Platypus2-13B"));
        Assert.True(orca[TinyLlama.LayerName(0, "self_attn.q_proj.weight")].AsSpan().SequenceEqual(s[TinyLlama.LayerName(0, "self_attn.q_proj.weight")]));
        Assert.True(platy[TinyLlama.LayerName(0, "mlp.up_proj.weight")].AsSpan().SequenceEqual(s[TinyLlama.LayerName(0, "mlp.up_proj.weight")]));
    }

    [Fact]
    public void Arcee_fusion_yml_runs_unchanged()
    {
        MergeEngine.Run(RecipeParser.ParseFile(Lay(ArceeFusion, "arcee_fusion.yml", layers: 4)), _tmp.File("out"), Options);
        var m = Read("out");
        Assert.Equal(Read("model_a").Keys.Order(), m.Keys.Order());
        Assert.All(m.Values, v => Assert.All(v, x => Assert.True(float.IsFinite(x))));
        using var ck = ModelSoups.Checkpoints.Checkpoint.Open(_tmp.File("out"));
        Assert.All(ck.Tensors.Values, t => Assert.Equal(DType.BF16, t.DType));
    }

    [Fact]
    public void Every_example_recipe_parses_unchanged()
    {
        // Including the two whose methods are not here yet: the recipe layer reads them all.
        foreach (var (recipe, file, slices, models) in new[]
                 {
                     (Linear, "l/x.yml", 0, 3), (Ties, "t/x.yml", 0, 3), (BioMerge, "b/x.yml", 0, 2),
                     (GradientSlerp, "g/x.yml", 1, 2), (OrcaminiPlaty44, "o/x.yml", 2, 2), (ArceeFusion, "a/x.yml", 0, 2),
                 })
        {
            var r = RecipeParser.ParseFile(Lay(recipe, file, layers: 2));
            Assert.Equal(slices, r.Slices?.Count ?? 0);
            Assert.Equal(models, r.Models.Count);
            Assert.All(r.Models, m => Assert.True(Directory.Exists(m.Path), m.Path));
        }
    }
}
