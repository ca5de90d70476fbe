using ModelSoups.Experiments.Sparse;
using ModelSoups.Cli;
using ModelSoups.Cli.Commands;
using ModelSoups.Reports;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Sparse;
using ModelSoups.TorchSharp.Tests.Data;

namespace ModelSoups.TorchSharp.Tests.Demo;

public class DemoSparseCommandTests
{
    [Fact]
    public void Sparse_with_full_or_quick_and_full_exits_2()
    {
        using var t = new TempFolder();
        var err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["demo", "--sparse", "--full", "--out", t["demo"]], new StringWriter(), err));
        Assert.Contains("--sparse", err.ToString());
        Assert.Equal(2, SoupApp.Run(["demo", "--sparse", "--quick", "--full", "--out", t["demo"]], new StringWriter(), new StringWriter()));
        Assert.False(Directory.Exists(Path.Combine(t["demo"], SparseDemo.FolderName)));
    }

    [Fact]
    public void Tiny_sparse_demo_scores_on_the_main_demo_suite_and_joins_the_main_report()
    {
        using var t = new TempFolder();
        var data = t["data"];
        Directory.CreateDirectory(data);
        SafetensorsDataset.Write(Path.Combine(data, DatasetSplits.TrainFileName), SyntheticImages.Create(200, 1));
        SafetensorsDataset.Write(Path.Combine(data, DatasetSplits.TestFileName), SyntheticImages.Create(50, 2));
        var demo = t["demo"];
        Directory.CreateDirectory(demo);
        // A main demo ran before into the same folder: its results.json is there.
        var main = new DemoResults
        {
            Rows =
            [
                new DemoRow(DemoResults.BestIndividual, 0.8, 0.79, 0.5, ["a"], 1, new Dictionary<string, double> { ["blur"] = 0.5 }),
                new DemoRow(DemoResults.UniformSoup, 0.81, 0.8, 0.52, ["a", "b"], 1, new Dictionary<string, double> { ["blur"] = 0.52 }),
                new DemoRow(DemoResults.GreedySoup, 0.82, 0.81, 0.53, ["a"], 1, new Dictionary<string, double> { ["blur"] = 0.53 }),
            ],
            Seconds = [new("train", 1.0)],
        };
        File.WriteAllText(Path.Combine(demo, DemoResults.FileName), main.ToJson());

        var stderr = new StringWriter();
        var r = DemoCommand.RunSparse(new SparseDemoOptions
        {
            Out = demo, Quick = true, Data = data, DenseSteps = 4, RetrainSteps = 3, Phases = 1, Ingredients = 2,
            EvaluationLimit = 30, RecalibrationBatches = 1, BatchSize = 16,
        }, stderr);

        Assert.Contains("soup demo --sparse --quick", stderr.ToString());
        var saved = SparseSoupResult.Read(Path.Combine(demo, SparseDemo.FolderName, SparseSoupResult.FileName));
        // The OOD column is the main demo's five corruptions at its severity.
        foreach (var kind in Corruptions.All) Assert.Contains(Corruptions.Name(kind), saved.Scorer);
        Assert.Contains("severity 3", saved.Scorer);
        Assert.All(saved.Phases[0].Rows, row => { Assert.NotNull(row.Ood); Assert.NotNull(row.Test); });
        var html = File.ReadAllText(Path.Combine(demo, DemoHtmlReport.FileName));
        Assert.Contains("Sparse Model Soups", html);
        Assert.Contains("Model soups demo", html);
        Assert.Equal(r.Html, SparseReport.Html(saved));
    }
}
