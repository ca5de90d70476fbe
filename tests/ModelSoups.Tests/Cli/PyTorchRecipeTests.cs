using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Cli;
using ModelSoups.Recipes;
using ModelSoups.TestSupport;
using ModelSoups.Tests.Formats.PyTorch;

namespace ModelSoups.Tests.Cli;

/// <summary>
/// The recipe keys <c>state_dict_key</c> / <c>strip_prefix</c> (per model entry, or at the top level): the recipe
/// form of <c>--state-dict-key</c> / <c>--strip-prefix</c>, so a recipe over PyTorch checkpoints is self-contained.
/// </summary>
public sealed class PyTorchRecipeTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    string Recipe(string name, string yaml)
    {
        string path = _dir.File(name);
        File.WriteAllText(path, yaml);
        return path;
    }

    static string F(string fixture) => PyTorchFixtures.Fixture(fixture);

    static void AssertSameTensors(string expectedFolder, string actualFolder)
    {
        var x = ModelFolders.ReadBytes(expectedFolder);
        var y = ModelFolders.ReadBytes(actualFolder);
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        foreach (var (name, bytes) in x) Assert.True(bytes.AsSpan().SequenceEqual(y[name]), $"tensor '{name}' differs");
    }

    [Fact]
    public void Recipe_keys_give_the_same_merge_as_the_flags()
    {
        // lightning.ckpt keeps its weights under 'state_dict' with names 'model.…'; nested_model_legacy.pth under
        // 'model' with plain names. One --strip-prefix model. suits both (the second has no such prefix) and
        // auto-detection finds both keys, so the flags can merge them; the recipe names the same choices explicitly.
        var flags = Soup("merge", "--method", "linear", "--models", F("lightning.ckpt"), F("nested_model_legacy.pth"),
            "--strip-prefix", "model.", "--out", _dir.File("flags"), "--threads", "1", "--no-hash");
        Assert.True(flags.Code == 0, flags.Err);
        string recipe = Recipe("keys.yml", $"""
            merge_method: linear
            models:
              - model: {F("lightning.ckpt")}
                state_dict_key: state_dict
                strip_prefix: model.
                parameters:
                  weight: 1.0
              - model: {F("nested_model_legacy.pth")}
                state_dict_key: model
                parameters:
                  weight: 1.0
            """);
        var keys = Soup("merge", recipe, "--out", _dir.File("keys"), "--threads", "1", "--no-hash");
        Assert.True(keys.Code == 0, keys.Err);
        AssertSameTensors(_dir.File("flags"), _dir.File("keys"));
        Assert.Contains("fc.weight", ModelFolders.ReadBytes(_dir.File("keys")).Keys);

        // A key the recipe sets wins over the flag; one it leaves out comes from the flag. If --strip-prefix zzz.
        // won, lightning's names would keep 'model.' and the merge would fail; --state-dict-key, which the
        // recipe does not set, reaches both models (and lightning.ckpt has no 'model' key).
        string mixed = Recipe("mixed.yml", $"""
            merge_method: linear
            models:
              - model: {F("lightning.ckpt")}
                strip_prefix: model.
              - model: {F("nested_model_legacy.pth")}
            """);
        var overridden = Soup("merge", mixed, "--strip-prefix", "zzz.", "--state-dict-key", "model", "--out", _dir.File("mixed"), "--threads", "1", "--no-hash");
        Assert.Equal(2, overridden.Code);   // --state-dict-key model reaches lightning.ckpt, which has no 'model' key
        Assert.Contains("has no dict under key 'model'", overridden.Err);
        var fromFlag = Soup("merge", mixed, "--strip-prefix", "zzz.", "--out", _dir.File("mixed"), "--threads", "1", "--no-hash");
        Assert.True(fromFlag.Code == 0, fromFlag.Err);
        AssertSameTensors(_dir.File("flags"), _dir.File("mixed"));

        // The recipe written beside the output keeps the keys, so it reruns to the same merge.
        string written = File.ReadAllText(_dir.File("keys/soup-recipe.yaml"));
        Assert.Contains("state_dict_key: state_dict", written);
        Assert.Contains("strip_prefix: model.", written);
        var again = Soup("merge", _dir.File("keys/soup-recipe.yaml"), "--out", _dir.File("again"), "--threads", "1", "--no-hash");
        Assert.True(again.Code == 0, again.Err);
        AssertSameTensors(_dir.File("keys"), _dir.File("again"));
    }

    [Fact]
    public void Each_model_gets_its_own_prefix_which_one_flag_cannot_do()
    {
        // 'model.' (Lightning) and 'module.' (DataParallel): one --strip-prefix strips only one of them, so the
        // names would not match; per-model keys read both as plain names. Golden: weights 0.5 each, so every
        // float element is 0.5·a + 0.5·b (both products exact in f32, one rounding for the sum).
        string recipe = Recipe("two.yml", $"""
            merge_method: linear
            models:
              - model: {F("lightning.ckpt")}
                strip_prefix: model.
                parameters:
                  weight: 0.5
              - model: {F("dataparallel.pth")}
                strip_prefix: module.
                parameters:
                  weight: 0.5
            """);
        var r = Soup("merge", recipe, "--out", _dir.File("out"), "--threads", "1", "--no-hash");
        Assert.True(r.Code == 0, r.Err);
        using var a = Checkpoint.Open(F("lightning.ckpt"), new CheckpointOpenOptions { StripPrefix = "model." });
        using var b = Checkpoint.Open(F("dataparallel.pth"), new CheckpointOpenOptions { StripPrefix = "module." });
        using var m = Checkpoint.Open(_dir.File("out"));
        Assert.Equal(a.Tensors.Keys.Order(), m.Tensors.Keys.Order());
        int checkedTensors = 0;
        foreach (var (name, t) in m.Tensors)
        {
            if (t.DType != ModelSoups.Tensors.DType.F32) continue;
            var wa = MemoryMarshal.Cast<byte, float>(a.Tensors[name].GetBytes());
            var wb = MemoryMarshal.Cast<byte, float>(b.Tensors[name].GetBytes());
            var wm = MemoryMarshal.Cast<byte, float>(t.GetBytes());
            for (int i = 0; i < wm.Length; i++) Assert.Equal(0.5f * wa[i] + 0.5f * wb[i], wm[i]);
            checkedTensors++;
        }
        Assert.True(checkedTensors >= 6, $"only {checkedTensors} float tensors compared");   // embed, fc ×2, norm ×4

        // With one flag instead, the other model's names do not match: refused, naming a tensor.
        var flag = Soup("merge", "--method", "linear", "--models", F("lightning.ckpt"), F("dataparallel.pth"),
            "--strip-prefix", "model.", "--out", _dir.File("flag"), "--threads", "1", "--no-hash");
        Assert.Equal(2, flag.Code);
        Assert.False(Directory.Exists(_dir.File("flag")));
    }

    [Fact]
    public void Top_level_keys_apply_to_every_model_and_the_base_and_entries_override_them()
    {
        // task_arithmetic with the DataParallel model as base: the base is a bare path (mergekit's schema), so it
        // takes the top-level strip_prefix; the Lightning entry overrides it with its own.
        string recipe = Recipe("top.yml", $"""
            merge_method: task_arithmetic
            base_model: {F("dataparallel.pth")}
            strip_prefix: module.
            models:
              - model: {F("lightning.ckpt")}
                strip_prefix: model.
                parameters:
                  weight: 1.0
            """);
        var parsed = RecipeParser.Parse(File.ReadAllText(recipe), recipe);
        Assert.Equal("module.", parsed.BaseModel!.Open!.StripPrefix);
        Assert.Equal("model.", parsed.Models[0].Open!.StripPrefix);
        var r = Soup("merge", recipe, "--out", _dir.File("out"), "--threads", "1", "--no-hash");
        Assert.True(r.Code == 0, r.Err);
        // base + 1·(lightning − base) = lightning's weights, to f32 rounding of the difference and the sum.
        using var l = Checkpoint.Open(F("lightning.ckpt"), new CheckpointOpenOptions { StripPrefix = "model." });
        using var m = Checkpoint.Open(_dir.File("out"));
        var want = MemoryMarshal.Cast<byte, float>(l.Tensors["fc.weight"].GetBytes());
        var got = MemoryMarshal.Cast<byte, float>(m.Tensors["fc.weight"].GetBytes());
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], got[i], 1e-6f);

        // The written recipe gives the base its prefix back through the top level, and the entry keeps its own.
        var written = RecipeParser.ParseFile(_dir.File("out/soup-recipe.yaml"));
        Assert.Equal("module.", written.BaseModel!.Open!.StripPrefix);
        Assert.Equal("model.", written.Models[0].Open!.StripPrefix);
    }

    [Fact]
    public void The_keys_work_in_slice_sources()
    {
        string recipe = Recipe("slices.yml", $"""
            merge_method: passthrough
            slices:
              - sources:
                  - model: {F("dataparallel.pth")}
                    layer_range: [0, 1]
                    strip_prefix: module.
            """);
        var parsed = RecipeParser.Parse(File.ReadAllText(recipe), recipe);
        Assert.Equal("module.", parsed.Slices![0].Sources[0].Model.Open!.StripPrefix);
        Assert.Equal("module.", parsed.Models.Single().Open!.StripPrefix);
    }

    /// <summary>
    /// A Llama-shaped f32 model as a DataParallel-style torch.save zip (names 'module.…', one storage per tensor,
    /// written by the tests' TorchZip writer), beside its config; returns the folder and its safetensors original.
    /// </summary>
    (string Bin, string Safetensors) DataParallelLlama()
    {
        string st = TinyLlama.Write(_dir.File("llama-st"), 4, seed: 3, ModelSoups.Tensors.DType.F32);
        string bin = _dir.File("llama-bin");
        Directory.CreateDirectory(bin);
        using var c = Checkpoint.Open(st);
        var tensors = c.Tensors.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var pickle = PickleWriter.StateDict(tensors.Select(t =>
        {
            var shape = t.Shape.Select(d => (int)d).ToArray();
            var stride = new int[shape.Length];
            for (int i = shape.Length - 1, s = 1; i >= 0; s *= shape[i], i--) stride[i] = s;
            return ("module." + t.Name, "FloatStorage", shape.Aggregate(1, (a, b) => a * b), 0, shape, stride);
        }).ToArray());
        TorchZip.Write(Path.Combine(bin, "pytorch_model.bin"), pickle,
            tensors.Select((t, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), t.GetBytes().ToArray())).ToDictionary(p => p.Item1, p => p.Item2));
        File.Copy(Path.Combine(st, "config.json"), Path.Combine(bin, "config.json"));
        return (bin, st);
    }

    [Fact]
    public void Slices_read_pytorch_sources_with_the_recipe_key_or_the_flag()
    {
        // A frankenmerge (passthrough, layers [0, 3) then [1, 4)) of the .bin model gives exactly the stack of its
        // safetensors original, whether 'module.' is stripped by the source's key or by --strip-prefix
        // (slice recipes used to ignore the flag).
        var (bin, st) = DataParallelLlama();
        string Slices(string model, string extra) => $"""
            merge_method: passthrough
            slices:
              - sources:
                  - model: {model}
                    layer_range: [0, 3]
            {extra}
              - sources:
                  - model: {model}
                    layer_range: [1, 4]
            {extra}
            """;
        var reference = Soup("merge", Recipe("st.yml", Slices(st, "")), "--out", _dir.File("from-st"), "--threads", "1", "--no-hash");
        Assert.True(reference.Code == 0, reference.Err);
        var key = Soup("merge", Recipe("key.yml", Slices(bin, "        strip_prefix: module.")), "--out", _dir.File("from-key"), "--threads", "1", "--no-hash");
        Assert.True(key.Code == 0, key.Err);
        var flag = Soup("merge", Recipe("flag.yml", Slices(bin, "")), "--strip-prefix", "module.", "--out", _dir.File("from-flag"), "--threads", "1", "--no-hash");
        Assert.True(flag.Code == 0, flag.Err);
        AssertSameTensors(_dir.File("from-st"), _dir.File("from-key"));
        AssertSameTensors(_dir.File("from-st"), _dir.File("from-flag"));
        Assert.Contains(TinyLlama.LayerName(5, "mlp.up_proj.weight"), ModelFolders.ReadBytes(_dir.File("from-key")).Keys);   // 3 + 3 layers stacked
        // Neither: the layers are still found, but every name keeps the prefix.
        var without = Soup("merge", Recipe("none.yml", Slices(bin, "")), "--out", _dir.File("none"), "--threads", "1", "--no-hash");
        Assert.True(without.Code == 0, without.Err);
        Assert.All(ModelFolders.ReadBytes(_dir.File("none")).Keys, n => Assert.StartsWith("module.", n));
    }

    [Fact]
    public void A_mergekit_recipe_without_the_keys_parses_as_before()
    {
        string recipe = Recipe("plain.yml", $"""
            merge_method: linear
            models:
              - model: {F("tiny_a.bin")}
                parameters:
                  weight: 1.0
            """);
        var parsed = RecipeParser.Parse(File.ReadAllText(recipe), recipe);
        Assert.Null(parsed.Models[0].Open);
        Assert.Same(CheckpointOpenOptions.Default, parsed.Models[0].OpenOptions(CheckpointOpenOptions.Default));
    }

    [Theory]
    [InlineData("    strip_prefx: module.\n", "unknown key 'strip_prefx' in the model entry")]
    [InlineData("    state_dict_key: \n", "'state_dict_key' must be a non-empty text")]
    [InlineData("    strip_prefix: [module.]\n", "'strip_prefix' must be a non-empty text")]
    public void A_misspelt_or_empty_key_is_one_clean_line(string line, string message)
    {
        string recipe = Recipe("bad.yml", $"merge_method: linear\nmodels:\n  - model: {F("dataparallel.pth")}\n{line}");
        var (code, o, e) = Soup("merge", recipe, "--out", _dir.File("out"));
        Assert.Equal(2, code);
        Assert.Contains(message, e);
        Assert.StartsWith($"soup: {recipe}: ", e);
        Assert.Single(e.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void One_path_listed_twice_with_different_keys_is_refused()
    {
        string recipe = Recipe("twice.yml", $"""
            merge_method: linear
            models:
              - model: {F("dataparallel.pth")}
                strip_prefix: module.
              - model: {F("dataparallel.pth")}
                strip_prefix: mod
            """);
        var (code, _, e) = Soup("merge", recipe, "--out", _dir.File("out"));
        Assert.Equal(2, code);
        Assert.Contains("listed twice with different state_dict_key/strip_prefix", e);
    }
}
