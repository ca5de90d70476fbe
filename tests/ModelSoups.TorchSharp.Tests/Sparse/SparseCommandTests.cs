using ModelSoups.Cli;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Sparse;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Sparse;

public class SparseCommandTests
{
    [Fact]
    public void Soup_sparse_runs_prints_the_table_and_maps_bad_options_to_exit_2()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 200);
        var spec = ModelSpec.ForArchitecture(ModelSpec.MlpName, SyntheticImages.Classes, 1, SyntheticImages.Side);
        manual_seed(0);
        using (var model = spec.Create()) ModuleFolder.Save(model, spec, t["base"]);

        string[] Args(params string[] extra) =>
            ["sparse", "--base", t["base"], "--data", data, "--out", t["out"], "--sparsity", "0.5", "--phases", "1", "--ingredients", "2",
             "--steps", "3", "--batch-size", "16", "--recalibrate-bn", "1", "--eval-limit", "30", .. extra];
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, SoupApp.Run(Args("--merge", "greedy"), stdout, stderr));
        Assert.Contains("SMS uniform", stdout.ToString());
        Assert.Contains("IMP (one retrain per phase)", stdout.ToString());
        // The retrain options reach the run (they were once ignored: every run retrained the default 200 steps).
        Assert.Matches(@"retrain data_seed=0: step \d+/3 loss", stderr.ToString());
        Assert.Contains(" 3 steps bs 16 ", SparseSoupResult.Read(Path.Combine(t["out"], SparseSoupResult.FileName)).Retrain);
        Assert.True(File.Exists(Path.Combine(t["out"], SparseSoupResult.FileName)));
        Assert.Equal("phase-1/soup-greedy", SparseSoupResult.Read(Path.Combine(t["out"], SparseSoupResult.FileName)).Phases[0].SoupPath);

        var err = new StringWriter();
        var before = File.ReadAllText(Path.Combine(t["out"], SparseSoupResult.FileName));
        Assert.Equal(2, SoupApp.Run(Args("--merge", "greedy"), new StringWriter(), err));
        Assert.Contains("not empty", err.ToString());
        Assert.Equal(before, File.ReadAllText(Path.Combine(t["out"], SparseSoupResult.FileName)));

        // --resume continues (here: replays) the finished run; with another setting it is refused, naming the setting.
        stdout = new StringWriter();
        stderr = new StringWriter();
        Assert.Equal(0, SoupApp.Run(Args("--merge", "greedy", "--resume"), stdout, stderr));
        Assert.Contains("phase 1/1 resumed", stderr.ToString());
        Assert.DoesNotContain("retrain", stderr.ToString());
        Assert.Contains("SMS uniform", stdout.ToString());
        err = new StringWriter();
        int code = SoupApp.Run(Args("--merge", "greedy", "--resume", "--lr", "0.002"), new StringWriter(), err);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains("other settings", err.ToString());
        Assert.Contains("retrain:", err.ToString());
        err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(Args("--resume", "--overwrite"), new StringWriter(), err));
        Assert.Contains("--resume and --overwrite exclude each other", err.ToString());

        err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(Args("--merge", "best", "--overwrite"), new StringWriter(), err));
        Assert.Contains("--merge must be uniform or greedy", err.ToString());
        err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(Args("--vary", "label_smoothing", "--overwrite"), new StringWriter(), err));
        Assert.Contains("--values", err.ToString());
    }
}
