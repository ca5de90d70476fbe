using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Cli;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;
using ModelSoups.Tests.Formats.PyTorch;

namespace ModelSoups.Tests.Cli;

/// <summary><c>soup inspect</c>, <c>merge</c> and <c>convert</c> on PyTorch checkpoints, end to end through the CLI.</summary>
public sealed class PyTorchCliTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    /// <summary>A safetensors HF folder holding the same weights as a fixture (from the expected file Python wrote).</summary>
    string SafetensorsTwin(string name, string expected)
    {
        string folder = _dir.File(name);
        Directory.CreateDirectory(folder);
        File.Copy(expected, Path.Combine(folder, "model.safetensors"));
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"model_type\": \"tiny\", \"hidden_size\": 4}");
        return folder;
    }

    [Fact]
    public void Inspect_a_bin_file_lists_its_tensors_and_the_chosen_key()
    {
        var (code, o, e) = Soup("inspect", PyTorchFixtures.Fixture("lightning.ckpt"));
        Assert.True(code == 0, e);
        Assert.Contains("format: pytorch (zip torch.save", o);
        Assert.Contains("note: tensors taken from key 'state_dict'", o);
        Assert.Matches(@"model\.fc\.weight\s+F32\s+\[3, 4\]\s+12\s+48", o);
        Assert.Contains("total: 8 tensors, 52 parameters, 212 bytes", o);   // embed 24 + fc 12+3 + norm 4×3 + counter 1
    }

    [Fact]
    public void Inspect_json_of_a_sharded_bin_folder()
    {
        var (code, o, e) = Soup("inspect", PyTorchFixtures.Fixture("hf-sharded"), "--json");
        Assert.True(code == 0, e);
        var c = JsonDocument.Parse(o).RootElement.GetProperty("checkpoints")[0];
        Assert.Equal("pytorch", c.GetProperty("format").GetString());
        Assert.Equal(2, c.GetProperty("files").GetArrayLength());
        Assert.Equal(8, c.GetProperty("tensors").GetArrayLength());
    }

    [Fact]
    public void Inspect_strip_prefix_option()
    {
        var (code, o, _) = Soup("inspect", PyTorchFixtures.Fixture("dataparallel.pth"), "--strip-prefix", "module.");
        Assert.Equal(0, code);
        Assert.Matches(@"(?m)^fc\.weight\s+F32", o);
        Assert.DoesNotContain("module.fc", o);
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("ties")]
    public void Merging_bin_inputs_is_bit_identical_to_merging_the_same_weights_as_safetensors(string method)
    {
        // hf-single (pytorch_model.bin) and hf-sharded (two .bin shards + index) hold models A and B in bf16;
        // their twins hold the same bytes as safetensors, written by the fixture script from PyTorch's view.
        string a = SafetensorsTwin("a-st", PyTorchFixtures.Expected("tiny_a.bin"));
        string b = SafetensorsTwin("b-st", PyTorchFixtures.Expected("hf-sharded"));
        string[] extra = method == "ties" ? ["--base", a, "--density", "0.5"] : [];
        var fromBin = Soup(["merge", "--method", method, "--models", PyTorchFixtures.Fixture("hf-single"), PyTorchFixtures.Fixture("hf-sharded"), .. extra, "--out", _dir.File("from-bin"), "--threads", "1"]);
        Assert.True(fromBin.Code == 0, fromBin.Err);
        var fromSt = Soup(["merge", "--method", method, "--models", a, b, .. extra, "--out", _dir.File("from-st"), "--threads", "1"]);
        Assert.True(fromSt.Code == 0, fromSt.Err);
        var x = ModelFolders.ReadBytes(_dir.File("from-bin"));
        var y = ModelFolders.ReadBytes(_dir.File("from-st"));
        Assert.Equal(y.Keys.Order(), x.Keys.Order());
        foreach (var (name, bytes) in y) Assert.True(bytes.AsSpan().SequenceEqual(x[name]), $"tensor '{name}' differs");
        Assert.True(File.Exists(_dir.File("from-bin/config.json")));   // side files come from the .bin folder too
    }

    [Fact]
    public void Greedy_soup_of_bin_ingredients_equals_the_uniform_soup_of_their_safetensors_twins()
    {
        // Every candidate scores 1, so with the paper's >= rule both ingredients join: the soup is their uniform average.
        string script = _dir.File("eval.sh");
        File.WriteAllText(script, "echo 1\n");
        var g = Soup("greedy", "--models", PyTorchFixtures.Fixture("hf-single"), PyTorchFixtures.Fixture("hf-sharded"),
            "--eval-cmd", $"sh {script} {{model}}", "--out", _dir.File("greedy"), "--threads", "1", "--no-report");
        Assert.True(g.Code == 0, g.Err);
        Assert.Contains("greedy soup: 2 of 2 ingredients", g.Out);
        string a = SafetensorsTwin("a-st", PyTorchFixtures.Expected("tiny_a.bin"));
        string b = SafetensorsTwin("b-st", PyTorchFixtures.Expected("hf-sharded"));
        var m = Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("uniform"), "--threads", "1");
        Assert.True(m.Code == 0, m.Err);
        var x = ModelFolders.ReadBytes(_dir.File("greedy"));
        var y = ModelFolders.ReadBytes(_dir.File("uniform"));
        Assert.Equal(y.Keys.Order(), x.Keys.Order());
        foreach (var (name, bytes) in y) Assert.True(bytes.AsSpan().SequenceEqual(x[name]), $"tensor '{name}' differs");
    }

    [Fact]
    public void Convert_writes_sharded_safetensors_that_read_back_identical()
    {
        var (code, o, e) = Soup("convert", PyTorchFixtures.Fixture("hf-sharded"), "--out", _dir.File("st"), "--max-shard-size", "40B");
        Assert.True(code == 0, e);
        Assert.Contains("8 tensors", o);
        Assert.Contains("read back and identical", o);
        Assert.Contains("copied config.json", o);
        using var back = Checkpoint.Open(_dir.File("st"));
        Assert.IsType<SafetensorsCheckpoint>(back);
        Assert.True(back.Files.Count > 1);
        Assert.True(File.Exists(_dir.File("st/model.safetensors.index.json")));
        PyTorchFixtures.AssertSameTensors(PyTorchFixtures.Expected("hf-sharded"), back);
        Assert.Equal(new DirectoryInfo(_dir.Path).GetDirectories().Select(d => d.Name), ["st"]);   // no temporary folder left
    }

    [Fact]
    public void Convert_with_state_dict_key_and_strip_prefix()
    {
        var (code, o, e) = Soup("convert", PyTorchFixtures.Fixture("lightning.ckpt"), "--out", _dir.File("st"), "--state-dict-key", "state_dict", "--strip-prefix", "model.");
        Assert.True(code == 0, e);
        Assert.Contains("note: stripped 'model.' from 8 of 8 names", o);
        using var back = Checkpoint.Open(_dir.File("st"));
        PyTorchFixtures.AssertSameTensors(PyTorchFixtures.Expected("lightning.ckpt"), back, n => n["model.".Length..]);
    }

    [Fact]
    public void Convert_refuses_an_output_that_holds_the_input_and_leaves_it_alone()
    {
        string folder = _dir.File("model");
        Directory.CreateDirectory(folder);
        File.Copy(PyTorchFixtures.Fixture("tiny_a.bin"), Path.Combine(folder, "pytorch_model.bin"));
        byte[] before = File.ReadAllBytes(Path.Combine(folder, "pytorch_model.bin"));
        var (code, _, e) = Soup("convert", folder, "--out", folder, "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("holds the input", e);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, "pytorch_model.bin")));
    }

    [Fact]
    public async Task A_fifo_named_bin_is_refused_without_blocking()
    {
        var fifo = _dir.File("pipe.bin");
        using (var p = System.Diagnostics.Process.Start("mkfifo", [fifo])!) p.WaitForExit();
        var task = Task.Run(() => Soup("inspect", fifo));
        Assert.True(await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) == task, "soup blocked opening a FIFO");
        var (code, _, e) = await task;
        Assert.Equal(2, code);
        Assert.Contains("this is a FIFO (named pipe), not a regular file", e);
    }

    [Fact]
    public void A_bin_input_truncated_while_mapped_stops_the_merge_cleanly()
    {
        string a = _dir.File("a");
        Directory.CreateDirectory(a);
        File.Copy(PyTorchFixtures.Fixture("tiny_a.bin"), Path.Combine(a, "pytorch_model.bin"));
        using var plan = ModelSoups.Engine.MergePlan.Create(ModelSoups.Recipes.QuickRecipe.Build("linear", [a, PyTorchFixtures.Fixture("hf-sharded")]), new ModelSoups.Engine.MergeOptions());
        // Another process cuts the file short: touching those mapped pages now would be SIGBUS.
        using (var fs = new FileStream(Path.Combine(a, "pytorch_model.bin"), FileMode.Open, FileAccess.Write)) fs.SetLength(fs.Length / 2);
        var e = Assert.Throws<EnvironmentFaultException>(() => ModelSoups.Engine.MergeEngine.Run(plan, _dir.File("out"), new ModelSoups.Engine.MergeOptions { HashInputs = false }));
        Assert.StartsWith("the input changed while being read", e.Message);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void A_gguf_file_is_named_not_misread_as_a_safetensors_header()
    {
        string p = _dir.File("model.bin");
        File.WriteAllBytes(p, [.. "GGUF"u8.ToArray(), 3, 0, 0, 0, .. new byte[64]]);
        var (code, _, e) = Soup("inspect", p);
        Assert.Equal(2, code);
        Assert.Equal($"soup: {p}: is neither a safetensors file nor a torch.save file: it looks like a GGUF file (llama.cpp).\n", e.Replace("\r", ""));
    }
}
