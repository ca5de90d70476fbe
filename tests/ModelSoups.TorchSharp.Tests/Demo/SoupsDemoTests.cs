using ModelSoups.Cli;
using ModelSoups.Cli.Commands;
using ModelSoups.Reports;
using ModelSoups.TorchSharp.Data;
using ModelSoups.Experiments.Vision;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Tests.Data;

namespace ModelSoups.TorchSharp.Tests.Demo;

public class SoupsDemoTests
{
    /// <summary>A tiny configuration: 8×8 synthetic images, the small CNN (with BatchNorm), two ingredients, a few steps.</summary>
    static DemoOptions Tiny(string data, string output) => new()
    {
        Out = output, Preset = "test", Data = data, InstallData = false, Architecture = ModelSpec.Cnn,
        Ingredients = 2, TrainImages = 120, Epochs = [1, 2], BatchSize = 16, LearningRate = (0.003, 0.01), LinearProbeSteps = 5,
        HeldOutImages = null, TestImages = 80, ShiftImages = 40, RecalibrateBatches = 2, RecalibrateBatchSize = 16,
        LearnedSoupEpochs = 1, LearnedSoupImages = null, LearnedSoupBatchSize = 16,
    };

    static string DataFolder(TempFolder t)
    {
        var folder = t["data"];
        Directory.CreateDirectory(folder);
        SafetensorsDataset.Write(Path.Combine(folder, DatasetSplits.TrainFileName), SyntheticImages.Create(300, 1));
        SafetensorsDataset.Write(Path.Combine(folder, DatasetSplits.TestFileName), SyntheticImages.Create(100, 2));
        return folder;
    }

    [Fact]
    public void Tiny_demo_writes_a_consistent_table_report_results_and_checkpoints_and_resumes()
    {
        using var t = new TempFolder();
        var output = t["demo"];
        var results = DemoCommand.Run(Tiny(DataFolder(t), output), new StringWriter());

        string[] summary = [DemoResults.BestIndividual, DemoResults.UniformSoup, DemoResults.GreedySoup, DemoResults.LearnedSoup, DemoResults.Ensemble, DemoResults.LinearProbe];
        Assert.Equal([.. summary, "ingredient:run-000", "ingredient:run-001"], results.Rows.Select(r => r.Method));
        Assert.All(results.Rows, r =>
        {
            Assert.InRange(r.HeldOut, 0, 1);
            Assert.InRange(r.Test, 0, 1);
            Assert.InRange(r.Ood, 0, 1);
            Assert.Equal(5, r.Shifts.Count);
            Assert.Equal(r.IsIngredient || r.Method != DemoResults.LinearProbe, r.Members.Count > 0);
            Assert.Equal(r.Shifts.Values.Average(), r.Ood, 12);
        });
        var best = results.Row(DemoResults.BestIndividual)!;
        var greedy = results.Row(DemoResults.GreedySoup)!;
        var ingredients = results.Rows.Where(r => r.IsIngredient).ToList();
        // By construction: the best individual is the ingredient with the best held-out score, and the greedy soup
        // (which starts from it and only accepts candidates that score ≥) scores at least as well on held-out.
        Assert.Equal(ingredients.Max(r => r.HeldOut), best.HeldOut);
        Assert.Contains(ingredients, r => r.Members.SequenceEqual(best.Members) && r.Test == best.Test && r.Ood == best.Ood);
        Assert.True(greedy.HeldOut >= best.HeldOut);
        Assert.Equal(best.Members[0], greedy.Members[0]);
        Assert.Equal(2, results.Row(DemoResults.Ensemble)!.Cost);
        Assert.Equal(["run-000", "run-001"], results.Row(DemoResults.UniformSoup)!.Members);
        Assert.Equal(["data", "linear_probe", "fine_tune", "evaluate", "ensemble", "uniform_soup", "greedy_soup", "learned_soup", "report", "total"],
            results.Seconds.Select(s => s.Key));

        // Files: results.json (round trip), report.html with the scatter, report.md, checkpoints, the evaluation cache.
        var json = File.ReadAllText(Path.Combine(output, DemoResults.FileName));
        var read = DemoResults.FromJson(json);
        Assert.Equal(results.Rows.Select(r => (r.Method, r.HeldOut, r.Test, r.Ood)), read.Rows.Select(r => (r.Method, r.HeldOut, r.Test, r.Ood)));
        Assert.Contains("\"heldout\"", json);
        Assert.Contains("\"members\"", json);
        var html = File.ReadAllText(Path.Combine(output, DemoHtmlReport.FileName));
        Assert.Contains("<svg", html);
        Assert.Contains("Greedy soup", html);
        Assert.Contains(DemoResults.Percent(greedy.Test), html);
        Assert.True(File.Exists(Path.Combine(output, "report.md")));
        foreach (var soup in new[] { "uniform", "greedy", "learned" })
            Assert.Equal(ModelSpec.Cnn, ModelSpec.Read(Path.Combine(output, SoupsDemo.SoupsFolder, soup)).Architecture);
        Assert.True(File.Exists(Path.Combine(output, SoupsDemo.IngredientsFolder, "run-001", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(output, SoupsDemo.WorkFolder, SoupsDemo.CacheFileName)));

        // The printed table has the paper's columns and every method.
        var printed = new StringWriter();
        DemoCommand.Print(results, output, printed);
        Assert.Contains("Held-out", printed.ToString());
        Assert.Contains("OOD mean", printed.ToString());
        Assert.Contains("Ensemble (logits)", printed.ToString());
        Assert.Contains("Greedy soup (", printed.ToString());

        // Rerun: training and evaluations are reused and the numbers are the same.
        var log = new StringWriter();
        var again = DemoCommand.Run(Tiny(DataFolder(t), output), log);
        Assert.Contains("already done", log.ToString());
        Assert.Contains("run-000: reused", log.ToString());
        Assert.Equal(results.Rows.Select(r => (r.Method, r.HeldOut, r.Test, r.Ood)), again.Rows.Select(r => (r.Method, r.HeldOut, r.Test, r.Ood)));
    }

    [Fact]
    public void Cli_refuses_quick_and_full_together()
    {
        var err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["demo", "--quick", "--full", "--out", Path.GetTempPath()], new StringWriter(), err));
        Assert.Contains("--quick", err.ToString());
    }

    [Fact]
    public void Missing_dataset_without_install_names_the_command()
    {
        // An empty folder stands for a machine without the dataset, so this runs whether or not it is installed here.
        using var empty = new TempDir();
        var e = Assert.Throws<ModelSoupsException>(() => FashionMnistInstaller.EnsureAvailable(install: false, folder: empty.Path));
        Assert.Contains(FashionMnistInstaller.InstallCommand, e.Message);
        // Asking to install does not help a folder the package does not fill: the same clean error, no apt-get.
        e = Assert.Throws<ModelSoupsException>(() => FashionMnistInstaller.EnsureAvailable(install: true, folder: empty.Path));
        Assert.Contains(FashionMnistInstaller.InstallCommand, e.Message);
    }
}
