using System.Text.Json;
using ModelSoups.Experiments.Sparse;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Sparse;
using ModelSoups.TorchSharp.Tests.Data;

namespace ModelSoups.TorchSharp.Tests.Sparse;

public class SparseDemoTests
{
    [Fact]
    public void Shrunken_demo_writes_results_json_and_report_fragments_and_reuses_the_dense_model()
    {
        using var t = new TempFolder();
        var data = t["data"];
        Directory.CreateDirectory(data);
        SafetensorsDataset.Write(Path.Combine(data, DatasetSplits.TrainFileName), SyntheticImages.Create(200, 1));
        SafetensorsDataset.Write(Path.Combine(data, DatasetSplits.TestFileName), SyntheticImages.Create(50, 2));
        var options = new SparseDemoOptions
        {
            Out = t["demo"], Quick = true, Data = data, DenseSteps = 4, RetrainSteps = 3, Phases = 2, Ingredients = 2,
            EvaluationLimit = 40, RecalibrationBatches = 1, BatchSize = 16,
        };
        var events = new List<SparseProgress>();
        var r = SparseDemo.Run(options, events.Add);

        Assert.Equal(Path.Combine(t["demo"], "sparse"), r.Folder);
        Assert.Equal(0.9, r.Results.TargetSparsity);
        Assert.Contains("## Sparse Model Soups", r.Markdown);
        Assert.Contains("SMS uniform", r.Markdown);
        Assert.StartsWith("<section", r.Html);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(r.Folder, SparseSoupResult.FileName)));
        var last = json.RootElement.GetProperty("phases").EnumerateArray().Last();
        Assert.Equal(2, last.GetProperty("phase").GetInt32());
        Assert.Equal(0.9, last.GetProperty("sparsity").GetDouble(), 3);
        Assert.True(Directory.Exists(Path.Combine(r.Folder, last.GetProperty("soup_path").GetString()!)));
        Assert.Contains(events, e => e.Stage == "dense");

        // A rerun with the same settings reuses the dense model and every phase.
        var again = new List<SparseProgress>();
        var replay = SparseDemo.Run(options, again.Add);
        Assert.DoesNotContain(again, e => e.Stage == "dense");
        Assert.DoesNotContain(again, e => e.Stage == "retrain");
        Assert.Equal(2, again.Count(e => e.Stage == "resumed"));
        Assert.Equal(r.Results.Phases[1].Rows, replay.Results.Phases[1].Rows);

        // Other retrain settings: the demo folder is a cache, so the phases are made again (the dense model is still reused).
        var changed = new List<SparseProgress>();
        SparseDemo.Run(options with { RetrainSteps = 2 }, changed.Add);
        Assert.DoesNotContain(changed, e => e.Stage == "dense");
        Assert.Contains(changed, e => e.Phase == 1 && e.Stage == "redo");
        Assert.Contains(changed, e => e.Phase == 2 && e.Stage == "retrain" && e.Step is { TotalSteps: 2 });
    }
}
