using ModelSoups.Cli;
using ModelSoups.Pleas;
using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using ModelSoups.TorchSharp.Data;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Tests.Alignment.AlignmentFixtures;

namespace ModelSoups.TorchSharp.Tests.Alignment;

public class PleasCommandTests
{
    [Theory]
    [InlineData(ModelSpec.MlpName)]
    [InlineData(ModelSpec.Cnn)]
    public void Soup_pleas_writes_models_at_the_budget_that_eval_and_inspect_load(string architecture)
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 120);
        var spec = ModelSpec.ForArchitecture(architecture, SyntheticImages.Classes, 1, SyntheticImages.Side);
        using (var a = Model(spec, 1)) ModuleFolder.Save(a, spec, t["a"]);
        using (var b = Model(spec, 2)) ModuleFolder.Save(b, spec, t["b"]);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, SoupApp.Run(["pleas", "--models", t["a"], t["b"], "--data", data, "--budget", "1.0", "1.5", "--samples", "64", "--out", t["out"], "--recalibrate-bn", "2"], stdout, stderr));
        Assert.Contains("PLeaS", stdout.ToString());
        var results = PleasResults.Read(Path.Combine(t["out"], PleasResults.FileName));
        Assert.Equal(["model A", "model B", "ensemble", "naive average", "permute+average (weight matching)", "permute+average (activation matching)", "PLeaS", "PLeaS"],
            results.Rows.Select(r => r.Method));
        Assert.True(File.Exists(Path.Combine(t["out"], "report.html")));
        var at15 = results.Rows.Single(r => r.Budget == 1.5);
        Assert.True(at15.Parameters <= 1.5 * results.OneModelParameters && at15.Parameters > 1.2 * results.OneModelParameters);
        Assert.Equal(results.OneModelParameters, results.Rows.Single(r => r.Budget == 1.0).Parameters);

        // The merged folder is a normal checkpoint: soup-model.json carries the widths, eval and inspect read it.
        var merged = ModelSpec.Read(at15.Path!);
        Assert.True((merged.Hidden ?? merged.Widths)![0] > (spec.Hidden?[0] ?? spec.Width));
        var (module, _) = ModuleFolder.Load(at15.Path!);
        module.Dispose();
        var evalOut = new StringWriter();
        Assert.Equal(0, SoupApp.Run(["eval", at15.Path!, "--torch-model", at15.Path!, "--data", data], evalOut, new StringWriter()));
        Assert.Contains("score", evalOut.ToString());
        Assert.Equal(0, SoupApp.Run(["inspect", at15.Path!], new StringWriter(), new StringWriter()));
    }

    [Fact]
    public void Soup_pleas_separate_label_spaces_stacks_the_heads()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 120);
        var a2 = ModelSpec.ForArchitecture(ModelSpec.MlpName, 2, 1, SyntheticImages.Side);
        using (var a = Model(a2, 1)) ModuleFolder.Save(a, a2, t["a"]);
        using (var b = Model(a2, 2)) ModuleFolder.Save(b, a2, t["b"]);
        Assert.Equal(0, SoupApp.Run(["pleas", "--models", t["a"], t["b"], "--data", data, "--label-space", "separate", "--budget", "1.25", "--samples", "64", "--out", t["out"]],
            new StringWriter(), new StringWriter()));
        var results = PleasResults.Read(Path.Combine(t["out"], PleasResults.FileName));
        var pleas = results.Rows.Single(r => r.Method == "PLeaS");
        Assert.Equal(4, ModelSpec.Read(pleas.Path!).Classes);   // A's 2 outputs, then B's 2
        Assert.NotNull(pleas.TaskA);
        Assert.NotNull(pleas.TaskB);
        Assert.Equal((pleas.TaskA!.Value + pleas.TaskB!.Value) / 2, pleas.Accuracy, 12);
    }

    [Fact]
    public void Soup_pleas_data_free_fits_on_noise_images()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 120);
        var spec = ModelSpec.ForArchitecture(ModelSpec.MlpName, SyntheticImages.Classes, 1, SyntheticImages.Side);
        using (var a = Model(spec, 1)) ModuleFolder.Save(a, spec, t["a"]);
        using (var b = Model(spec, 2)) ModuleFolder.Save(b, spec, t["b"]);
        string[] Pleas(string a, string b, string output, params string[] extra) =>
            ["pleas", "--models", a, b, "--data", data, "--budget", "1.0", "--samples", "256", "--ridge", "1e-9", "--no-baselines", "--out", t[output], .. extra];

        // A merged with itself, fitted on noise only: every target is A's own feature, reachable from any inputs that span
        // the layer's input space (256 noise images, 64 pixels, 128 hidden units), so the result is A's function on real data.
        Assert.Equal(0, SoupApp.Run(Pleas(t["a"], t["a"], "self", "--feature-data", "noise"), new StringWriter(), new StringWriter()));
        var self = PleasResults.Read(Path.Combine(t["self"], PleasResults.FileName));
        Assert.Equal("synthetic noise", self.Features);
        var (original, _) = ModuleFolder.Load(t["a"]);
        var (merged, _) = ModuleFolder.Load(self.Rows.Single().Path!);
        var (x, _) = DatasetSplits.Load(data).HeldOut.Batch(Enumerable.Range(0, 12).ToArray());
        using (no_grad())
        {
            var expected = original.call(spec.Prepare(x));
            var diff = MaxAbsDifference(expected, merged.call(spec.Prepare(x)));
            // 1e-2, not the 1e-3 of Gaussian inputs: neighbouring noise pixels are strongly correlated, so the Gram matrix is
            // ill-conditioned and the float32 features' rounding is amplified; a missing input direction would be off by O(1).
            Assert.True(diff < 1e-2 * Math.Max(1, expected.abs().max().item<float>()), $"max difference {diff}");
        }

        // A and B: the fitted weights depend on the feature data — noise gives another merge than the task's images.
        Assert.Equal(0, SoupApp.Run(Pleas(t["a"], t["b"], "task"), new StringWriter(), new StringWriter()));
        Assert.Equal(0, SoupApp.Run(Pleas(t["a"], t["b"], "free", "--feature-data", "noise"), new StringWriter(), new StringWriter()));
        Assert.Null(PleasResults.Read(Path.Combine(t["task"], PleasResults.FileName)).Features);
        var onTask = StateTensors.Of(ModuleFolder.Load(Path.Combine(t["task"], "pleas-1.00")).Module);
        var onNoise = StateTensors.Of(ModuleFolder.Load(Path.Combine(t["free"], "pleas-1.00")).Module);
        Assert.False(onTask["layers.1.weight"].allclose(onNoise["layers.1.weight"]));
    }

    [Fact]
    public void Soup_pleas_bad_input_is_one_line_and_exit_2()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 60);
        var mlp = ModelSpec.ForArchitecture(ModelSpec.MlpName, SyntheticImages.Classes, 1, SyntheticImages.Side);
        var cnn = ModelSpec.ForArchitecture(ModelSpec.Cnn, SyntheticImages.Classes, 1, SyntheticImages.Side);
        using (var a = Model(mlp, 1)) ModuleFolder.Save(a, mlp, t["a"]);
        using (var b = Model(cnn, 2)) ModuleFolder.Save(b, cnn, t["b"]);
        void Fails(string expected, params string[] args)
        {
            var err = new StringWriter();
            Assert.Equal(2, SoupApp.Run(["pleas", "--data", data, "--out", t["out"], .. args], new StringWriter(), err));
            Assert.Contains(expected, err.ToString());
            Assert.Single(err.ToString().Trim().Split('\n'));
        }
        Fails("--budget must be between 1.0", "--models", t["a"], t["a"], "--budget", "2.5");
        Fails("--budget must be between 1.0", "--models", t["a"], t["a"], "--budget", "0.5");
        Fails("different architectures", "--models", t["a"], t["b"]);
        Fails("exactly two", "--models", t["a"]);
        Fails("--label-space must be", "--models", t["a"], t["a"], "--label-space", "both");
        Fails("no such dataset", "--models", t["a"], t["a"], "--feature-data", t["missing"]);
        Assert.False(Directory.Exists(t["out"]));
    }
}
