using ModelSoups.Recipes;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Recipes;

public sealed class RecipeParserTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("soup-recipe-").FullName;

    public RecipeParserTests()
    {
        foreach (var m in new[] { "base", "ft-a", "ft-b" }) Directory.CreateDirectory(Path.Combine(_dir, m));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    Recipe Parse(string yaml) => RecipeParser.Parse(yaml, Path.Combine(_dir, "recipe.yaml"));

    RecipeException Fails(string yaml) => Assert.Throws<RecipeException>(() => Parse(yaml));

    [Fact]
    public void Issue_example_parses_with_paths_relative_to_the_recipe()
    {
        var r = Parse("""
            merge_method: ties
            base_model: ./base
            models:
              - model: ./ft-a
                parameters: {weight: 1.0, density: 0.5}
              - model: ./ft-b
                parameters: {weight: 0.7, density: 0.5}
            parameters: {majority_sign_method: total, lambda: 1.0}
            dtype: float32        # compute dtype
            out_dtype: bfloat16   # output dtype
            """);
        Assert.Equal("ties", r.MergeMethod);
        Assert.Equal(Path.Combine(_dir, "base"), r.BaseModel!.Path);
        Assert.Equal(["./ft-a", "./ft-b"], r.Models.Select(m => m.Spelled));
        Assert.Equal(Path.Combine(_dir, "ft-b"), r.Models[1].Path);
        Assert.Equal(new RecipeValue.Number(0.7), r.Models[1].Parameters["weight"]);
        Assert.Equal(new RecipeValue.Text("total"), r.Parameters["majority_sign_method"]);
        Assert.Equal(DType.F32, r.ComputeDType);
        Assert.Equal(DType.BF16, r.OutDType);
    }

    [Fact]
    public void Half_precision_dtype_means_output_dtype_and_f32_compute()
    {
        var r = Parse("merge_method: linear\nmodels: [{model: ft-a}, {model: ft-b}]\ndtype: bfloat16\n");
        Assert.Equal(DType.F32, r.ComputeDType);
        Assert.Equal(DType.BF16, r.OutDType);
        // mergekit writes in `dtype` when there is no `out_dtype` (so float64 and float32 are output dtypes too).
        var d = Parse("merge_method: linear\nmodels: [{model: ft-a}]\ndtype: float64\n");
        Assert.Equal(DType.F64, d.ComputeDType);
        Assert.Equal(DType.F64, d.OutDType);
        var f = Parse("merge_method: linear\nmodels: [{model: ft-a}]\ndtype: float32\n");
        Assert.Equal(DType.F32, f.ComputeDType);
        Assert.Equal(DType.F32, f.OutDType);
        var c = Parse("merge_method: linear\nmodels: [{model: ft-a}]\ncompute_dtype: float64\n");
        Assert.Equal(DType.F64, c.ComputeDType);
        Assert.Null(c.OutDType);
    }

    [Fact]
    public void Gradients_and_filters_parse_as_mergekit_writes_them()
    {
        var r = Parse("""
            merge_method: slerp
            base_model: base
            models: [{model: ft-a}, {model: ft-b}]
            parameters:
              t:
                - filter: self_attn
                  value: [0, 0.5, 0.3, 0.7, 1]
                - filter: mlp
                  value: [1, 0.5, 0.7, 0.3, 0]
                - value: 0.5
              normalize: false
            """);
        var t = Assert.IsType<RecipeValue.Conditional>(r.Parameters["t"]);
        Assert.Equal(3, t.Conditions.Count);
        Assert.Equal("self_attn", t.Conditions[0].Filter);
        Assert.Equal([0, 0.5, 0.3, 0.7, 1], Assert.IsType<RecipeValue.Gradient>(t.Conditions[0].Value).Anchors);
        Assert.Null(t.Conditions[2].Filter);
        Assert.Equal(new RecipeValue.Number(0.5), t.Conditions[2].Value);
        Assert.Equal(new RecipeValue.Flag(false), r.Parameters["normalize"]);
    }

    [Fact]
    public void Random_seed_is_read_at_top_level_or_in_parameters()
    {
        Assert.Equal(42UL, Parse("merge_method: dare_linear\nbase_model: base\nmodels: [{model: ft-a}]\nrandom_seed: 42\n").RandomSeed);
        var r = Parse("merge_method: dare_linear\nbase_model: base\nmodels: [{model: ft-a}]\nparameters: {random_seed: 7, density: 0.5}\n");
        Assert.Equal(7UL, r.RandomSeed);
        Assert.False(r.Parameters.ContainsKey("random_seed"));
    }

    [Theory]
    [InlineData("merge_method: linear\nmodles: [{model: ft-a}]\n", "line 2: unknown key 'modles'")]
    [InlineData("models: [{model: ft-a}]\n", "'merge_method' is missing")]
    [InlineData("merge_method: linear\n", "'models' is missing")]
    [InlineData("merge_method: linear\nmodels: []\n", "non-empty list")]
    [InlineData("merge_method: linear\nmodels: [{model: nowhere}]\n", "model path 'nowhere' does not exist")]
    [InlineData("merge_method: linear\nmodels: [{model: ft-a, weight: 1}]\n", "unknown key 'weight' in the model entry")]
    [InlineData("merge_method: linear\nmodels: [{model: ft-a}]\ndtype: int8\n", "'dtype' must be one of")]
    [InlineData("merge_method: linear\nmodels: [{model: ft-a}]\nparameters: {t: [0, x]}\n", "only numbers")]
    [InlineData("merge_method: linear\nmodels: [{model: ft-a}]\nparameters: {t: .inf}\n", "not a finite number")]
    [InlineData("merge_method: linear\nmodels: [{model: ft-a}]\nrandom_seed: -1\n", "non-negative integer")]
    [InlineData("merge_method: [linear\n", "invalid YAML")]
    [InlineData("- just\n- a list\n", "must be a YAML mapping")]
    [InlineData("merge_method: linear\nmerge_method: ties\nmodels: [{model: ft-a}]\n", "invalid YAML")]
    public void Bad_recipes_are_one_clear_sentence(string yaml, string expected)
    {
        var e = Fails(yaml);
        Assert.Contains(expected, e.Message);
        Assert.EndsWith("recipe.yaml", e.Path);
        Assert.DoesNotContain('\n', e.UserMessage);
    }

    [Fact]
    public void Missing_recipe_file_names_the_file()
    {
        var e = Assert.Throws<RecipeException>(() => RecipeParser.ParseFile(Path.Combine(_dir, "none.yaml")));
        Assert.Contains("none.yaml", e.UserMessage);
    }

    [Fact]
    public void Command_line_values_parse_like_recipe_values()
    {
        Assert.Equal(new RecipeValue.Number(0.25), RecipeParser.ParseValueText("0.25", "--set"));
        Assert.Equal(new RecipeValue.Flag(true), RecipeParser.ParseValueText("true", "--set"));
        Assert.Equal(new RecipeValue.Text("frequency"), RecipeParser.ParseValueText("frequency", "--set"));
        Assert.Equal([0.0, 1.0], Assert.IsType<RecipeValue.Gradient>(RecipeParser.ParseValueText("[0, 1]", "--set")).Anchors);
    }

    [Fact]
    public void Slices_parse_with_sources_ranges_and_parameters_at_every_level_and_round_trip()
    {
        var r = Parse("""
            slices:
              - sources:
                  - model: ./ft-a
                    layer_range: [0, 24]
                    parameters: {weight: 0.3}
                  - model: ./ft-b
                    layer_range: [8, 32]
                base_model: ./ft-a
                parameters: {t: [0, 1]}
              - sources:
                  - {model: ./ft-b, layer_range: [24, 32]}
            merge_method: slerp
            base_model: ./base
            parameters: {t: 0.5}
            dtype: bfloat16
            """);
        Assert.NotNull(r.Slices);
        Assert.Equal(2, r.Slices!.Count);
        var s0 = r.Slices[0];
        Assert.Equal((0, 24, 24), (s0.Sources[0].Start, s0.Sources[0].End, s0.Sources[0].Length));
        Assert.Equal(Path.Combine(_dir, "ft-b"), s0.Sources[1].Model.Path);
        Assert.Equal(new RecipeValue.Number(0.3), s0.Sources[0].Model.Parameters["weight"]);
        Assert.Equal(Path.Combine(_dir, "ft-a"), s0.BaseModel!.Path);
        Assert.Equal([0.0, 1.0], Assert.IsType<RecipeValue.Gradient>(s0.Parameters["t"]).Anchors);
        Assert.Equal([Path.Combine(_dir, "ft-a"), Path.Combine(_dir, "ft-b")], r.Models.Select(m => m.Path));
        Assert.All(r.Models, m => Assert.Empty(m.Parameters));

        var again = Parse(RecipeWriter.ToYaml(r));
        Assert.Equal(RecipeWriter.ToYaml(r), RecipeWriter.ToYaml(again));
        Assert.Equal(r.Slices.Select(x => x.Sources.Count), again.Slices!.Select(x => x.Sources.Count));
        Assert.Equal((8, 32), (again.Slices![0].Sources[1].Start, again.Slices[0].Sources[1].End));
        Assert.Equal((DType.F32, DType.BF16), (again.ComputeDType, again.OutDType));
    }

    [Theory]
    [InlineData("merge_method: passthrough\nmodels: [{model: ft-a}]\nslices: [{sources: [{model: ft-a, layer_range: [0, 1]}]}]\n", "give either 'models' or 'slices', not both")]
    [InlineData("merge_method: passthrough\nslices: []\n", "'slices' must be a non-empty list")]
    [InlineData("merge_method: passthrough\nslices: [{sources: [{model: ft-a}]}]\n", "has no 'layer_range")]
    [InlineData("merge_method: passthrough\nslices: [{sources: [{model: ft-a, layer_range: [4, 2]}]}]\n", "first < end")]
    [InlineData("merge_method: passthrough\nslices: [{sources: [{model: ft-a, layer_range: [0, 1, 2]}]}]\n", "'layer_range' must be [first, end]")]
    [InlineData("merge_method: passthrough\nslices: [{sources: [{model: ft-a, layer_range: [0, 1], range: 2}]}]\n", "unknown key 'range' in the slice source")]
    [InlineData("merge_method: passthrough\nslices: [{residual_weight: 0.5, sources: [{model: ft-a, layer_range: [0, 1]}]}]\n", "'residual_weight' in a slice is not supported")]
    [InlineData("merge_method: passthrough\nslices: [{sources: [{model: ft-a, layer_range: [0, 1]}]}]\nallow_missing: true\n", "'allow_missing' applies to 'models' recipes")]
    [InlineData("merge_method: linear\nmodules: {text: {models: [{model: ft-a}]}}\n", "'modules'")]
    [InlineData("merge_method: linear\nmodels: [{model: ft-a}]\ncompute_dtype: bfloat16\n", "'compute_dtype' must be float32 or float64")]
    public void Bad_slices_are_one_clear_sentence(string yaml, string expected)
    {
        var e = Fails(yaml);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.UserMessage);
    }

    [Fact]
    public void Tokenizer_settings_parse_in_both_forms_and_round_trip()
    {
        var simple = Parse("merge_method: linear\nmodels: [{model: ft-a}]\ntokenizer_source: ./ft-b\nchat_template: auto\n");
        Assert.Equal(TokenizerSourceKind.Model, simple.Tokenizer!.Kind);
        Assert.Equal(Path.Combine(_dir, "ft-b"), simple.Tokenizer.Model!.Path);
        Assert.Equal("auto", simple.Tokenizer.ChatTemplate);
        Assert.Equal(TokenizerSourceKind.Union, Parse("merge_method: linear\nmodels: [{model: ft-a}]\ntokenizer: {}\n").Tokenizer!.Kind);   // mergekit's default source
        var block = Parse("""
            merge_method: linear
            models: [{model: ft-a}]
            tokenizer:
              source: base
              pad_to_multiple_of: 64
              tokens:
                <|im_start|>: {source: ./ft-a, force: true}
                <|im_end|>: {source: {kind: zero}}
                <tool>: {source: {kind: model_token, model: ./ft-b, token_id: 7}}
            """);
        var t = block.Tokenizer!;
        Assert.Equal((TokenizerSourceKind.Base, 64), (t.Kind!.Value, t.PadToMultipleOf!.Value));
        Assert.True(t.Tokens["<|im_start|>"].Force);
        Assert.True(t.Tokens["<|im_end|>"].Zero);
        Assert.Equal(7, t.Tokens["<tool>"].SourceTokenId);
        var again = Parse(RecipeWriter.ToYaml(block));
        Assert.Equal(RecipeWriter.ToYaml(block), RecipeWriter.ToYaml(again));
        Assert.Equal(3, again.Tokenizer!.Tokens.Count);
    }

    [Theory]
    [InlineData("tokenizer_source: union\ntokenizer: {source: base}\n", "give either 'tokenizer_source' or 'tokenizer', not both")]
    [InlineData("tokenizer: {source: union, pad_to_multiple_of: 0}\n", "'pad_to_multiple_of' must be a whole number of at least 1")]
    [InlineData("tokenizer: {tokens: {x: {source: {kind: model_token, model: ./ft-a}}}}\n", "exactly one of 'token' and 'token_id'")]
    [InlineData("tokenizer: {tokens: {x: {source: {kind: mean}}}}\n", "unknown token source kind 'mean'")]
    [InlineData("tokenizer: {tokens: {x: {force: true}}}\n", "a 'tokens' entry needs 'source'")]
    [InlineData("tokenizer_source: ./nowhere\n", "model path './nowhere' does not exist")]
    public void Bad_tokenizer_settings_are_one_clear_sentence(string tail, string expected)
    {
        var e = Fails("merge_method: linear\nmodels: [{model: ft-a}]\n" + tail);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.UserMessage);
    }
}
