using ModelSoups.Experiments.Pleas;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Tests.Data;

namespace ModelSoups.TorchSharp.Tests.Demo;

public class PleasDemoTests
{
    [Fact]
    public void Shrunken_demo_measures_both_pairs_and_reuses_the_trained_models()
    {
        using var t = new TempFolder();
        var data = t["data"];
        Directory.CreateDirectory(data);
        SafetensorsDataset.Write(Path.Combine(data, DatasetSplits.TrainFileName), SyntheticImages.Create(200, 1));
        SafetensorsDataset.Write(Path.Combine(data, DatasetSplits.TestFileName), SyntheticImages.Create(60, 2));
        var options = new PleasDemoOptions { Out = t["demo"], Data = data, Hidden = [8], Steps = 5, BatchSize = 16, Samples = 64, Budgets = [1.0, 2.0], SplitClass = 2, Architectures = ["mlp"] };
        var lines = new List<string>();
        var runs = PleasDemo.Run(options, lines.Add);

        Assert.Equal(2, runs.Count);
        Assert.Equal(["shared", "separate"], runs.Select(r => r.LabelSpace));
        Assert.All(runs, r => Assert.Equal(2, r.Rows.Count(x => x.Method == "PLeaS")));
        // Budget 2.0 keeps every unit of both: one hidden layer of 8 → 16, so twice one model but the head's shared bias.
        var shared = runs[0];
        Assert.Equal(2 * shared.OneModelParameters - 4, shared.Rows.Single(x => x.Budget == 2.0).Parameters);
        Assert.True(File.Exists(Path.Combine(t["demo"], "pleas", "report.html")));
        Assert.Contains("different label spaces", File.ReadAllText(Path.Combine(t["demo"], "pleas", "report.md")));
        Assert.Equal(4, lines.Count(l => l.StartsWith("training ", StringComparison.Ordinal)));

        Assert.Equal(["shared", "separate"], PleasDemo.ReadResults(t["demo"]).Select(r => r.LabelSpace));
        var again = new List<string>();
        PleasDemo.Run(options, again.Add);
        Assert.DoesNotContain(again, l => l.StartsWith("training ", StringComparison.Ordinal));
        var journal = Path.Combine(t["demo"], "pleas", "mlp", PleasDemo.WorkFolder, ModelSoups.Durability.UnitJournal.FileName);
        using (var units = ModelSoups.Durability.UnitJournal.OpenReadOnly(journal))
            Assert.Equal(["a", "b", "classes-low", "classes-high"], units.Units());

        // Other training settings: every model is trained again (the demo folder is a cache), and recorded again.
        var changed = new List<string>();
        PleasDemo.Run(options with { Steps = 6 }, changed.Add);
        Assert.Equal(4, changed.Count(l => l.StartsWith("training ", StringComparison.Ordinal) && l.EndsWith("(its earlier model was made with other settings)", StringComparison.Ordinal)));
        using (var units = ModelSoups.Durability.UnitJournal.OpenReadOnly(journal))
            Assert.Contains("\"steps\":6", units.Recorded("a")!.Settings["hyperparameters"]);
    }

    [Fact]
    public void Demo_pleas_runs_alone()
    {
        using var t = new TempFolder();
        var err = new StringWriter();
        Assert.Equal(2, ModelSoups.Cli.SoupApp.Run(["demo", "--pleas", "--sparse", "--out", t["demo"]], new StringWriter(), err));
        Assert.Contains("--pleas runs alone", err.ToString());
        Assert.False(Directory.Exists(Path.Combine(t["demo"], "pleas")));
    }

    [Fact]
    public void Relabel_keeps_a_class_range_and_shifts_it_to_zero()
    {
        var data = SyntheticImages.Create(40, 3);
        var high = PleasDemo.Relabel(data, 2, 2);
        Assert.Equal(2, high.Classes);
        Assert.Equal(data.Labels.Count(l => l >= 2), high.Count);
        Assert.All(high.Labels, l => Assert.InRange(l, (byte)0, (byte)1));
    }
}
