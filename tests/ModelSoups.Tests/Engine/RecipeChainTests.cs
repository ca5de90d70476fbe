using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary>Recipes of several YAML documents (mergekit-multi): order, names as models, work folder, skipping finished merges.</summary>
public sealed class RecipeChainTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static readonly MergeOptions Options = new() { Threads = 2, MemoryBudgetBytes = 16 << 20 };

    const string Chain = """
        name: ab
        merge_method: linear
        models:
          - model: ./a
          - model: ./b
        dtype: float32
        ---
        name: abc
        merge_method: linear
        models:
          - model: ab
            parameters: {weight: 2}
          - model: ./c
            parameters: {weight: 1}
        dtype: float32
        ---
        merge_method: passthrough
        slices:
          - sources: [{model: abc, layer_range: [0, 1]}]
          - sources: [{model: ./a, layer_range: [1, 2]}]
        dtype: float32
        """;

    string Write(string text)
    {
        foreach (var (n, seed) in new[] { ("a", 1), ("b", 2), ("c", 3) }) TinyLlama.Write(_tmp.File(n), 2, seed, DType.F32);
        File.WriteAllText(_tmp.File("chain.yaml"), text);
        return _tmp.File("chain.yaml");
    }

    [Fact]
    public void Documents_run_in_order_and_later_ones_read_earlier_outputs_by_name()
    {
        var path = Write(Chain);
        var steps = RecipeChain.Plan(path, _tmp.File("out"), _tmp.File("work"));
        Assert.Equal(["ab", "abc", "final"], steps.Select(s => s.Label));
        Assert.Equal([_tmp.File("work/ab"), _tmp.File("work/abc"), _tmp.File("out")], steps.Select(s => s.OutputFolder));
        Assert.Equal(["ab"], steps[1].Uses);
        var results = RecipeChain.Run(steps, Options);
        Assert.All(results, r => Assert.NotNull(r.Summary));

        var a = ModelFolders.ReadFloats(_tmp.File("a"));
        var b = ModelFolders.ReadFloats(_tmp.File("b"));
        var c = ModelFolders.ReadFloats(_tmp.File("c"));
        var o = ModelFolders.ReadFloats(_tmp.File("out"));
        // Layer 0: abc = (2 (a + b) / 2 + 1 c) / 3 = (a + b + c) / 3 (rounded to f32 twice); layer 1: a's layer 1.
        var name = TinyLlama.LayerName(0, "mlp.up_proj.weight");
        for (int i = 0; i < o[name].Length; i++)
            Assert.Equal((float)((2.0 * (float)((a[name][i] + (double)b[name][i]) / 2) + c[name][i]) / 3), o[name][i]);
        Assert.Equal(a[TinyLlama.LayerName(1, "mlp.up_proj.weight")], o[TinyLlama.LayerName(1, "mlp.up_proj.weight")]);
        Assert.Equal(2, o.Keys.Count(k => k.EndsWith("mlp.up_proj.weight", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_second_run_skips_every_finished_merge_and_a_changed_document_reruns_it_and_what_uses_it()
    {
        var path = Write(Chain);
        RecipeChain.Run(RecipeChain.Plan(path, _tmp.File("out"), _tmp.File("work")), Options);
        var again = RecipeChain.Plan(path, _tmp.File("out"), _tmp.File("work"));
        Assert.All(again, s => Assert.True(s.Done, s.Label));
        var ran = new List<string>();
        RecipeChain.Run(again, Options, (s, runs) => { if (runs) ran.Add(s.Label); });
        Assert.Empty(ran);

        // Changing the second document's weights reruns it and the final merge (its hash covers abc's), not the first.
        File.WriteAllText(path, Chain.Replace("weight: 1}", "weight: 3}"));
        var changed = RecipeChain.Plan(path, _tmp.File("out"), _tmp.File("work"));
        Assert.Equal([true, false, false], changed.Select(s => s.Done));
        RecipeChain.Run(changed, Options with { Overwrite = true }, (s, runs) => { if (runs) ran.Add(s.Label); });
        Assert.Equal(["abc", "final"], ran);
    }

    [Theory]
    [InlineData("merge_method: linear\nmodels: [{model: ./a}]\n---\nname: x\nmerge_method: linear\nmodels: [{model: ./a}]\n", "only the last document may have no 'name:'")]
    [InlineData("name: x\nmerge_method: linear\nmodels: [{model: ./a}]\n---\nname: x\nmerge_method: linear\nmodels: [{model: x}]\n", "the name 'x' is used by two documents")]
    [InlineData("name: x\nmerge_method: linear\nmodels: [{model: y}]\n---\nname: y\nmerge_method: linear\nmodels: [{model: ./a}]\n", "model path 'y' does not exist")]
    [InlineData("name: ../x\nmerge_method: linear\nmodels: [{model: ./a}]\n---\nmerge_method: linear\nmodels: [{model: ./a}]\n", "must be a plain folder name")]
    public void Bad_chains_are_refused_before_anything_runs(string text, string message)
    {
        var path = Write(text);
        var e = Assert.Throws<RecipeException>(() => RecipeChain.Plan(path, _tmp.File("out"), _tmp.File("work")));
        Assert.Contains(message, e.Message);
        Assert.False(Directory.Exists(_tmp.File("work")));
    }

    [Fact]
    public void A_single_document_parser_points_at_the_chain_runner()
    {
        var path = Write(Chain);
        Assert.Equal(3, RecipeParser.CountDocuments(path));
        Assert.Contains("recipe chain", Assert.Throws<RecipeException>(() => RecipeParser.ParseFile(path)).Message);
    }
}
