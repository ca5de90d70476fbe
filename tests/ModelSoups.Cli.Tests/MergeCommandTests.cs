using ModelSoups.Cli;
using ModelSoups.Tensors;

namespace ModelSoups.Cli.Tests;

public sealed class MergeCommandTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    string Model(string name, int seed) =>
        ModelFolders.Write(_dir.File(name), ModelFolders.Tiny(DType.BF16, seed), maxShardBytes: 80);

    [Fact]
    public void Recipe_file_with_relative_paths_merges_and_matches_the_quick_form()
    {
        Model("base", 1); Model("ft-a", 2); Model("ft-b", 3);
        File.WriteAllText(_dir.File("recipe.yaml"), """
            merge_method: ties
            base_model: ./base
            models:
              - model: ./ft-a
                parameters: {weight: 1.0, density: 0.5}
              - model: ./ft-b
                parameters: {weight: 0.7, density: 0.5}
            parameters: {majority_sign_method: total, lambda: 1.0}
            dtype: float32
            out_dtype: bfloat16
            """);
        var r = Soup("merge", _dir.File("recipe.yaml"), "--out", _dir.File("out"), "--threads", "1");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("tensors merged", r.Out);
        var q = Soup("merge", "--method", "ties", "--base", _dir.File("base"), "--models", _dir.File("ft-a"), _dir.File("ft-b"),
            "--weights", "1", "0.7", "--density", "0.5", "--set", "majority_sign_method=total", "--out", _dir.File("quick"), "--out-dtype", "bfloat16");
        Assert.True(q.Code == 0, q.Err);
        Assert.Equal(ModelFolders.ReadBytes(_dir.File("out")), ModelFolders.ReadBytes(_dir.File("quick")));
    }

    [Fact]
    public void Plan_prints_and_writes_nothing()
    {
        var a = Model("a", 1); var b = Model("b", 2);
        var r = Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"), "--plan");
        Assert.Equal(0, r.Code);
        Assert.Contains("method      linear", r.Out);
        Assert.Contains("memory      peak working memory", r.Out);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Theory]
    [InlineData("unknown merge_method 'soupify'", "--method", "soupify", "--models", "{a}", "--out", "{out}")]
    [InlineData("model path", "--method", "linear", "--models", "{a}", "/no/such/model", "--out", "{out}")]
    [InlineData("2 weight(s) for 1 model(s)", "--method", "linear", "--models", "{a}", "--weights", "1", "2", "--out", "{out}")]
    [InlineData("needs a base_model", "--method", "ties", "--models", "{a}", "--out", "{out}")]
    [InlineData("density", "--method", "ties", "--base", "{a}", "--models", "{b}", "--density", "0", "--out", "{out}")]
    [InlineData("'t'", "--method", "slerp", "--models", "{a}", "{b}", "--set", "t=2", "--out", "{out}")]
    [InlineData("recipe file not found", "{dir}/none.yaml", "--out", "{out}")]
    [InlineData("--memory-budget", "--method", "linear", "--models", "{a}", "--memory-budget", "lots", "--out", "{out}")]
    public void Bad_input_is_one_line_and_exit_code_2(string expected, params string[] args)
    {
        var a = Model("a", 1); var b = Model("b", 2);
        var real = args.Select(x => x.Replace("{a}", a).Replace("{b}", b).Replace("{out}", _dir.File("out")).Replace("{dir}", _dir.Path)).ToArray();
        var r = Soup(["merge", .. real]);
        Assert.Equal(2, r.Code);
        Assert.Contains(expected, r.Err);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("soup: ", r.Err);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void Existing_output_is_refused_without_overwrite()
    {
        var a = Model("a", 1); var b = Model("b", 2);
        Assert.Equal(0, Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out")).Code);
        var r = Soup("merge", "--method", "linear", "--models", a, "--out", _dir.File("out"));
        Assert.Equal(2, r.Code);
        Assert.Equal(0, Soup("merge", "--method", "linear", "--models", a, "--out", _dir.File("out"), "--overwrite").Code);
        Assert.Equal(ModelFolders.ReadBytes(a).Keys.Order(), ModelFolders.ReadBytes(_dir.File("out")).Keys.Order());
    }

    [Fact]
    public void An_unwritable_destination_is_one_line_and_exit_code_2()
    {
        var a = Model("a", 1);
        var locked = _dir.File("locked");
        Directory.CreateDirectory(locked);
        // A regular file where the parent folder should be: the write fails whoever runs the test (root included).
        File.WriteAllText(Path.Combine(locked, "file"), "x");
        var r = Soup("merge", "--method", "linear", "--models", a, "--out", Path.Combine(locked, "file", "out"));
        Assert.Equal(2, r.Code);
        Assert.StartsWith("soup: ", r.Err);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData("slice 1: ./a layer_range [0, 9] goes past the end: the model has 2 layers (0..1)", "[0, 9]", "[0, 2]")]
    [InlineData("every source of a slice must give the same number of layers", "[0, 2]", "[1, 2]")]
    public void Slice_errors_are_one_line_exit_code_2_and_write_nothing(string expected, string rangeA, string rangeB)
    {
        TinyLlama.Write(_dir.File("a"), 2, 1);
        TinyLlama.Write(_dir.File("b"), 2, 2);
        File.WriteAllText(_dir.File("s.yaml"), $"slices:\n  - sources:\n    - {{model: ./a, layer_range: {rangeA}}}\n    - {{model: ./b, layer_range: {rangeB}}}\nmerge_method: linear\n");
        var r = Soup("merge", _dir.File("s.yaml"), "--out", _dir.File("out"));
        Assert.Equal(2, r.Code);
        Assert.Contains(expected, r.Err);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void A_recipe_of_several_documents_runs_as_a_chain_and_reruns_for_free()
    {
        TinyLlama.Write(_dir.File("a"), 2, 1);
        TinyLlama.Write(_dir.File("b"), 2, 2);
        File.WriteAllText(_dir.File("multi.yaml"), """
            name: ab
            merge_method: linear
            models: [{model: ./a}, {model: ./b}]
            ---
            merge_method: passthrough
            slices:
              - sources: [{model: ab, layer_range: [0, 2]}]
              - sources: [{model: ./b, layer_range: [1, 2]}]
            """);
        var plan = Soup("merge", _dir.File("multi.yaml"), "--out", _dir.File("out"), "--plan");
        Assert.Equal(0, plan.Code);
        Assert.Contains($"merge 1/2 ab -> {_dir.File("out.work/ab")}: will run", plan.Out);
        Assert.Contains("planned once ab exist(s)", plan.Out);
        Assert.False(Directory.Exists(_dir.File("out.work")));

        var r = Soup("merge", _dir.File("multi.yaml"), "--out", _dir.File("out"), "--threads", "1");
        Assert.Equal(0, r.Code);
        Assert.Contains("ab: wrote ", r.Out);
        Assert.Contains("final: wrote ", r.Out);
        Assert.Equal(3, (int)System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(_dir.File("out/config.json")))!["num_hidden_layers"]!);

        var again = Soup("merge", _dir.File("multi.yaml"), "--out", _dir.File("out"));
        Assert.Equal(0, again.Code);
        Assert.Contains("ab: done (same recipe hash), skipped", again.Out);
        Assert.Contains("final: done (same recipe hash), skipped", again.Out);
    }
}
