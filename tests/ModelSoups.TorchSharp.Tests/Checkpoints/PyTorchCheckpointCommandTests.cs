using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Cli;
using ModelSoups.Formats.Safetensors;
using ModelSoups.TorchSharp.Sparse;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.TorchSharp.Tests.Checkpoints;

/// <summary>
/// <c>soup eval --torch-model</c>, <c>soup finetune --model</c> and <c>soup sparse --base</c> on a PyTorch
/// checkpoint folder (<c>pytorch_model.bin</c> + <c>soup-model.json</c>, written by torch.save 1.13 with a
/// transposed view and an offset slice, Reference/make_mlp_fixture.py): each gives exactly what it gives
/// for the same weights as safetensors (the twin, from the script's expected file). No torch at test time.
/// </summary>
public class PyTorchCheckpointCommandTests
{
    static readonly string Reference = Path.Combine(AppContext.BaseDirectory, "Checkpoints", "Reference");
    static string BinFolder => Path.Combine(Reference, "mlp-bin");

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    /// <summary>The same weights as safetensors, with the same soup-model.json.</summary>
    static string SafetensorsTwin(TempFolder t)
    {
        var twin = t["twin"];
        Directory.CreateDirectory(twin);
        File.Copy(Path.Combine(Reference, "mlp.expected.safetensors"), Path.Combine(twin, "model.safetensors"));
        File.Copy(Path.Combine(BinFolder, "soup-model.json"), Path.Combine(twin, "soup-model.json"));
        return twin;
    }

    static Dictionary<string, byte[]> Tensors(string checkpoint)
    {
        using var c = Checkpoint.Open(checkpoint);
        return c.Tensors.ToDictionary(p => p.Key, p => p.Value.GetBytes().ToArray());
    }

    static void AssertSameTensors(string expected, string actual)
    {
        var x = Tensors(expected);
        var y = Tensors(actual);
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        foreach (var (name, bytes) in x) Assert.True(bytes.AsSpan().SequenceEqual(y[name]), $"tensor '{name}' differs between {expected} and {actual}");
    }

    [Fact]
    public void The_fixture_reads_as_pytorch_shows_it()
    {
        // The views resolved: layers.3.weight is a transpose, layers.3.bias a slice at storage offset 2.
        using var bin = Checkpoint.Open(BinFolder);
        using var expected = SafetensorsFile.Open(Path.Combine(Reference, "mlp.expected.safetensors"));
        Assert.Equal(["layers.1.bias", "layers.1.weight", "layers.3.bias", "layers.3.weight"], bin.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var e in expected.Tensors)
        {
            Assert.Equal(e.Shape, bin.Tensors[e.Name].Shape);
            Assert.True(e.GetBytes().SequenceEqual(bin.Tensors[e.Name].GetBytes()), e.Name);
        }
        Assert.Equal([4L, 16L], bin.Tensors["layers.3.weight"].Shape);
    }

    [Fact]
    public void Eval_of_a_bin_checkpoint_equals_eval_of_its_safetensors_twin()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var twin = SafetensorsTwin(t);
        var bin = Soup("eval", Path.Combine(BinFolder, "pytorch_model.bin"), "--torch-model", BinFolder, "--data", data, "--json");
        Assert.True(bin.Code == 0, bin.Err);
        var folder = Soup("eval", BinFolder, "--torch-model", BinFolder, "--data", data, "--json");
        Assert.True(folder.Code == 0, folder.Err);
        var st = Soup("eval", twin, "--torch-model", twin, "--data", data, "--json");
        Assert.True(st.Code == 0, st.Err);
        Assert.StartsWith("{\"score\":", bin.Out);
        Assert.Equal(st.Out, bin.Out);      // score and every metric, printed round-trip ("R")
        Assert.Equal(st.Out, folder.Out);

        // The weights matter: the twin with its head zeroed scores a constant prediction, so a reader that
        // ignored the file's values could not match the line above by chance on both.
        var zeroed = t["zeroed"];
        using (var src = Checkpoint.Open(twin))
            ModelFolders.Write(zeroed, src.Tensors.Values.Select(x =>
                (x.Info, x.Name.StartsWith("layers.3.", StringComparison.Ordinal) ? new byte[x.GetBytes().Length] : x.GetBytes().ToArray())).ToList(), config: null);
        File.Copy(Path.Combine(twin, "soup-model.json"), Path.Combine(zeroed, "soup-model.json"));
        var z = Soup("eval", zeroed, "--torch-model", zeroed, "--data", data, "--json");
        Assert.True(z.Code == 0, z.Err);
        Assert.NotEqual(st.Out, z.Out);
    }

    [Fact]
    public void Eval_of_a_lightning_checkpoint_with_strip_prefix_equals_eval_of_the_twin()
    {
        // mlp-lightning.ckpt: the same weights under state_dict (auto-detected), named model.layers.…
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var twin = SafetensorsTwin(t);
        var ckpt = Path.Combine(Reference, "mlp-lightning.ckpt");
        var st = Soup("eval", twin, "--torch-model", twin, "--data", data, "--json");
        Assert.True(st.Code == 0, st.Err);
        var stripped = Soup("eval", ckpt, "--torch-model", BinFolder, "--data", data, "--json", "--state-dict-key", "state_dict", "--strip-prefix", "model.");
        Assert.True(stripped.Code == 0, stripped.Err);
        Assert.Equal(st.Out, stripped.Out);

        // Without --strip-prefix the names do not fit the mlp: one line naming the problem, exit 2.
        var (code, _, e) = Soup("eval", ckpt, "--torch-model", BinFolder, "--data", data);
        Assert.Equal(2, code);
        Assert.Contains("does not fit mlp", e);
        Assert.Single(e.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Finetune_from_a_bin_checkpoint_gives_the_ingredients_of_its_safetensors_twin()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var twin = SafetensorsTwin(t);
        var sweep = t["sweep.yaml"];
        File.WriteAllText(sweep, "base: {batch_size: 16, steps: 3}\ngrid: {lr: [0.01, 0.003]}\n");
        string[] Args(string model, string outDir) => ["finetune", "--model", model, "--data", data, "--sweep", sweep, "--subset", "100", "--out", outDir];
        var fromBin = Soup(Args(BinFolder, t["from-bin"]));
        Assert.True(fromBin.Code == 0, fromBin.Err);
        var fromSt = Soup(Args(twin, t["from-st"]));
        Assert.True(fromSt.Code == 0, fromSt.Err);

        // The common start is the fixture's weights exactly, and every ingredient is the same bit for bit.
        AssertSameTensors(Path.Combine(Reference, "mlp.expected.safetensors"), Path.Combine(t["from-bin"], FineTuneSweep.InitFolderName));
        foreach (var run in new[] { "run-000", "run-001" })
        {
            AssertSameTensors(Path.Combine(t["from-st"], run), Path.Combine(t["from-bin"], run));
            Assert.Equal(IngredientRecord.TryRead(Path.Combine(t["from-st"], run))!.HeldOut, IngredientRecord.TryRead(Path.Combine(t["from-bin"], run))!.HeldOut);
        }
        // ... and training moved them, so the equality above is about trained weights, not copies of the start.
        Assert.False(Tensors(Path.Combine(t["from-bin"], "run-000"))["layers.1.weight"].AsSpan()
            .SequenceEqual(Tensors(Path.Combine(Reference, "mlp.expected.safetensors"))["layers.1.weight"]));
    }

    [Fact]
    public void Sparse_from_a_bin_base_gives_the_soups_of_its_safetensors_twin()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 200);
        var twin = SafetensorsTwin(t);
        string[] Args(string baseModel, string outDir) =>
            ["sparse", "--base", baseModel, "--data", data, "--out", outDir, "--sparsity", "0.5", "--phases", "1", "--ingredients", "2",
             "--steps", "3", "--batch-size", "16", "--recalibrate-bn", "0", "--eval-limit", "30"];
        var fromBin = Soup(Args(BinFolder, t["from-bin"]));
        Assert.True(fromBin.Code == 0, fromBin.Err);
        var fromSt = Soup(Args(twin, t["from-st"]));
        Assert.True(fromSt.Code == 0, fromSt.Err);
        Assert.Equal(fromSt.Out.Replace(t["from-st"], "OUT"), fromBin.Out.Replace(t["from-bin"], "OUT"));   // the per-phase table
        foreach (var model in new[] { SparseSoup.UniformFolder, SparseSoup.ImpFolder })
            AssertSameTensors(Path.Combine(t["from-st"], "phase-1", model), Path.Combine(t["from-bin"], "phase-1", model));
        // Half of the weights pruned: the soup really is sparse, so it was trained from the file's weights, not skipped.
        var w = MemoryMarshal.Cast<byte, float>(Tensors(Path.Combine(t["from-bin"], "phase-1", SparseSoup.UniformFolder))["layers.1.weight"]);
        Assert.InRange(w.ToArray().Count(x => x == 0) / (double)w.Length, 0.3, 0.7);
    }

    [Theory]
    [InlineData("finetune")]
    [InlineData("sparse")]
    [InlineData("eval")]
    public void A_bare_bin_file_as_the_model_is_one_line_saying_it_needs_a_folder_with_soup_model_json(string command)
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 50);
        var file = Path.Combine(BinFolder, "pytorch_model.bin");
        string[] args = command switch
        {
            "finetune" => ["finetune", "--model", file, "--data", data, "--runs", "1", "--out", t["out"]],
            "sparse" => ["sparse", "--base", file, "--data", data, "--out", t["out"]],
            _ => ["eval", file, "--torch-model", file, "--data", data],
        };
        var (code, _, e) = Soup(args);
        Assert.Equal(2, code);
        // The error is the last line (finetune prints its progress line first), and the only error line.
        var lines = e.Replace("\r", "").TrimEnd('\n').Split('\n');
        Assert.Equal($"soup: {file}: a checkpoint file names no architecture: give a folder that holds it (as model.safetensors or pytorch_model.bin) and a soup-model.json", lines[^1]);
        Assert.Single(lines, l => l.StartsWith("soup:", StringComparison.Ordinal));
    }
}
