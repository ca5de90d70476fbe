using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Reports;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Sparse;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Sparse;

public class SparseSoupTests
{
    /// <summary>A dataset folder (train + test) and a dense SmallCnn base folder.</summary>
    static (DatasetSplits Data, string Base) Setup(TempFolder t, string architecture)
    {
        var folder = t["data"];
        Directory.CreateDirectory(folder);
        SafetensorsDataset.Write(Path.Combine(folder, DatasetSplits.TrainFileName), SyntheticImages.Create(300, 1));
        SafetensorsDataset.Write(Path.Combine(folder, DatasetSplits.TestFileName), SyntheticImages.Create(80, 2));
        var data = DatasetSplits.Load(folder);
        var spec = ModelSpec.ForArchitecture(architecture, SyntheticImages.Classes, 1, SyntheticImages.Side);
        manual_seed(0);
        using var model = spec.Create();
        ModuleFolder.Save(model, spec, t["base"]);
        return (data, t["base"]);
    }

    [Fact]
    public void Two_phases_of_two_ingredients_reach_the_exact_sparsity_and_write_results()
    {
        using var t = new TempFolder();
        var (data, baseFolder) = Setup(t, ModelSpec.Cnn);
        var outDir = t["sparse"];
        var events = new List<SparseProgress>();
        var result = SparseSoup.Run(new SparseSoupOptions
        {
            Base = baseFolder, Data = data, Out = outDir,
            Sparsity = 0.75, Phases = 2, Ingredients = 2, Merge = SparseSoupMerge.Greedy,
            Retrain = new TrainingHyperparameters { Steps = 5, BatchSize = 16, LearningRate = 0.01, Schedule = "linear", Warmup = 0.1 },
            RecalibrationBatches = 2, BatchSize = 32, LogEvery = 5,
            ImpBudget = ImpBudget.RetrainLength,
        }, events.Add);

        long total = 16 * 9 + 32 * 16 * 9 + 4 * 32;
        Assert.Equal(2, result.Phases.Count);
        Assert.Equal(PruneSchedule.ZeroCount(total, 0.5), result.Phases[0].Pruned);     // q = 0.5 for S 0.75, T 2
        Assert.Equal(PruneSchedule.ZeroCount(total, 0.75), result.Phases[1].Pruned);
        foreach (var phase in result.Phases)
        {
            Assert.Equal(total, phase.Prunable);
            // Every saved model of the phase has exactly the mask's zeros (within one weight per tensor: 3 tensors).
            foreach (var name in new[] { "ingredient-0", "ingredient-1", SparseSoup.UniformFolder, SparseSoup.GreedyFolder, SparseSoup.ImpFolder })
            {
                var folder = Path.Combine(outDir, $"phase-{phase.Phase}", name);
                var (module, _) = ModuleFolder.Load(folder);
                using (module)
                {
                    var zeros = SparsityMask.CountZeros(module).Zeros;
                    Assert.InRange(zeros, phase.Pruned, phase.Pruned + 3);
                }
                Assert.True(File.Exists(Path.Combine(folder, SparsityMask.FileName)), folder);
            }
            Assert.InRange(phase.Sparsity, phase.TargetSparsity - 3.0 / total, phase.TargetSparsity + 3.0 / total);
        }
        Assert.Equal(0.75, result.Phases[1].Sparsity, 2);

        // results.json is well-formed.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, SparseSoupResult.FileName)));
        var root = json.RootElement;
        Assert.Equal(0.75, root.GetProperty("target_sparsity").GetDouble());
        var phases = root.GetProperty("phases").EnumerateArray().ToList();
        Assert.Equal([1, 2], phases.Select(p => p.GetProperty("phase").GetInt32()));
        foreach (var p in phases)
        {
            Assert.InRange(p.GetProperty("sparsity").GetDouble(), 0.49, 0.76);
            var methods = p.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("method").GetString()).ToList();
            Assert.Equal(["ingredient:data_seed=0", "ingredient:data_seed=1", "sms_uniform", "sms_greedy", "imp"], methods);
            foreach (var r in p.GetProperty("rows").EnumerateArray())
                foreach (var key in new[] { "heldout", "test", "ood" })
                    Assert.InRange(r.GetProperty(key).GetDouble(), 0, 1);
            var soup = Path.Combine(outDir, p.GetProperty("soup_path").GetString()!);
            Assert.True(File.Exists(Path.Combine(soup, "model.safetensors")), soup);
            Assert.EndsWith(SparseSoup.GreedyFolder, soup);
        }
        // The library writes results.json only; the report is rendered from the result (as soup sparse and the demo do).
        SparseReport.Write(outDir, result);
        Assert.Contains("Sparse Model Soups", File.ReadAllText(Path.Combine(outDir, SparseReport.MarkdownFileName)));
        Assert.Contains("<table>", File.ReadAllText(Path.Combine(outDir, SparseReport.HtmlFileName)));
        Assert.Contains(events, e => e.Stage == "retrain" && e.Step is not null);
        // Phase 1's IMP retrain is ingredient 0's run (same start, mask and hyperparameters): not trained twice.
        Assert.DoesNotContain(events, e => e.Phase == 1 && e.Stage == "retrain" && e.Name == "imp");
        Assert.Contains(events, e => e.Phase == 2 && e.Stage == "retrain" && e.Name == "imp");

        // soup merge with sparsity: preserve accepts one phase's ingredients and refuses a mix of phases.
        string P(int phase, int i) => Path.Combine(outDir, $"phase-{phase}", $"ingredient-{i}");
        var options = new MergeOptions { HashInputs = false };
        MergeEngine.Run(QuickRecipe.Build("linear", [P(2, 0), P(2, 1)]) with { PreserveSparsity = true }, t["merged"], options);
        // The engine copies no soup-model.json: rebuild the architecture from an ingredient's.
        using var merged = ModelSpec.Read(P(2, 0)).Create();
        using (var ck = Checkpoint.Open(t["merged"])) ModuleState.Load(merged, ck);
        Assert.Equal(result.Phases[1].Pruned, SparsityMask.CountZeros(merged).Zeros);
        var e = Assert.Throws<ModelSoupsException>(() =>
            MergeEngine.Run(QuickRecipe.Build("linear", [P(1, 0), P(2, 0)]) with { PreserveSparsity = true }, t["mixed"], options));
        Assert.Contains("conv1.weight", e.Message);
    }

    [Fact]
    public void Per_layer_pruning_of_an_mlp_varying_weight_decay()
    {
        using var t = new TempFolder();
        var (data, baseFolder) = Setup(t, ModelSpec.MlpName);
        var result = SparseSoup.Run(new SparseSoupOptions
        {
            Base = baseFolder, Data = data, Out = t["sparse"],
            Sparsity = 0.5, Phases = 1, Ingredients = 2, Vary = "weight_decay", Scope = PruningScope.PerLayer,
            Retrain = new TrainingHyperparameters { Steps = 3, BatchSize = 16, WeightDecay = 0.1, Schedule = "linear", Warmup = 0.1 },
            RecalibrationBatches = 1, BatchSize = 32,
        });
        // Mlp 64 → 128 → 4: 8192 and 512 weights, each half pruned.
        Assert.Equal(4096 + 256, result.Phases[0].Pruned);
        Assert.Equal(["ingredient:weight_decay=0.05", "ingredient:weight_decay=0.1", "sms_uniform", "sms_greedy", "imp"], result.Phases[0].Rows.Select(r => r.Method));
    }

    [Fact]
    public void Imp_with_the_total_compute_budget_retrains_m_times_as_long()
    {
        var one = new TrainingHyperparameters { Steps = 5, Epochs = 2 };
        Assert.Equal(15, SparseSoup.ImpRetrain(one, ImpBudget.TotalCompute, 3).Steps);
        Assert.Equal(5, SparseSoup.ImpRetrain(one, ImpBudget.RetrainLength, 3).Steps);
        Assert.Equal(6, SparseSoup.ImpRetrain(new TrainingHyperparameters { Epochs = 2 }, ImpBudget.TotalCompute, 3).Epochs);

        using var t = new TempFolder();
        var (data, baseFolder) = Setup(t, ModelSpec.Cnn);
        var events = new List<SparseProgress>();
        SparseSoup.Run(new SparseSoupOptions
        {
            Base = baseFolder, Data = data, Out = t["sparse"],
            Sparsity = 0.5, Phases = 1, Ingredients = 2,
            Retrain = new TrainingHyperparameters { Steps = 4, BatchSize = 16, LearningRate = 0.01, Schedule = "linear", Warmup = 0.1 },
            RecalibrationBatches = 1, BatchSize = 32, LogEvery = 1,
        }, events.Add);
        // The default budget: IMP's phase-1 retrain is its own run of 2 × 4 steps, not ingredient 0's.
        var impSteps = events.Where(e => e.Stage == "retrain" && e.Name == "imp" && e.Step is not null).Select(e => e.Step!.TotalSteps).Distinct().ToList();
        Assert.Equal([8], impSteps);
        var ingredientSteps = events.Where(e => e.Stage == "retrain" && e.Name != "imp" && e.Step is not null).Select(e => e.Step!.TotalSteps).Distinct().ToList();
        Assert.Equal([4], ingredientSteps);
    }

    [Fact]
    public void A_run_stopped_in_phase_2_resumes_from_phase_1_and_ends_as_the_uninterrupted_run_did()
    {
        using var t = new TempFolder();
        var (data, baseFolder) = Setup(t, ModelSpec.Cnn);
        SparseSoupOptions Options(string outDir) => new()
        {
            Base = baseFolder, Data = data, Out = outDir,
            Sparsity = 0.75, Phases = 2, Ingredients = 2, Merge = SparseSoupMerge.Greedy,
            Retrain = new TrainingHyperparameters { Steps = 4, BatchSize = 16, LearningRate = 0.01, Schedule = "linear", Warmup = 0.1 },
            RecalibrationBatches = 2, BatchSize = 32, LogEvery = 1,
        };
        var whole = SparseSoup.Run(Options(t["whole"]));

        // Stopped during phase 2's first retrain: phase 1 is finished (its phase.json written last), phase 2 is not.
        var outDir = t["resumed"];
        using (var stop = new CancellationTokenSource())
        {
            Assert.ThrowsAny<OperationCanceledException>(() => SparseSoup.Run(Options(outDir),
                e => { if (e.Phase == 2 && e.Stage == "retrain" && e.Step is not null) stop.Cancel(); }, stop.Token));
        }
        Assert.True(File.Exists(Path.Combine(outDir, "phase-1", SparsePhaseRecord.FileName)));
        Assert.False(File.Exists(Path.Combine(outDir, "phase-2", SparsePhaseRecord.FileName)));
        Assert.False(File.Exists(Path.Combine(outDir, SparseSoupResult.FileName)));

        var events = new List<SparseProgress>();
        var resumed = SparseSoup.Run(Options(outDir), events.Add);
        Assert.Contains(events, e => e.Phase == 1 && e.Stage == "resumed");
        Assert.DoesNotContain(events, e => e.Phase == 1 && e.Stage == "retrain");
        Assert.Contains(events, e => e.Phase == 2 && e.Stage == "retrain");
        // Phase 2 started from phase 1's saved greedy soup, mask and IMP model: the same numbers and the same weights.
        for (int p = 0; p < 2; p++)
        {
            Assert.Equal(whole.Phases[p].Rows, resumed.Phases[p].Rows);
            Assert.Equal(whole.Phases[p].Pruned, resumed.Phases[p].Pruned);
            Assert.Equal(whole.Phases[p].GreedyMembers, resumed.Phases[p].GreedyMembers);
        }
        foreach (var folder in new[] { SparseSoup.GreedyFolder, SparseSoup.ImpFolder })
            Assert.Equal(File.ReadAllBytes(Path.Combine(t["whole"], "phase-2", folder, "model.safetensors")),
                File.ReadAllBytes(Path.Combine(outDir, "phase-2", folder, "model.safetensors")));

        // A finished run reruns without training anything; the journal records both phases once.
        var again = new List<SparseProgress>();
        var replay = SparseSoup.Run(Options(outDir), again.Add);
        Assert.DoesNotContain(again, e => e.Stage == "retrain");
        Assert.Equal(2, again.Count(e => e.Stage == "resumed"));
        Assert.Equal(whole.Phases[1].Rows, replay.Phases[1].Rows);
        using (var units = ModelSoups.Durability.UnitJournal.OpenReadOnly(Path.Combine(outDir, SparseSoup.WorkFolder, ModelSoups.Durability.UnitJournal.FileName)))
            Assert.Equal(["phase-1", "phase-2"], units.Units());

        // Another setting: refused by default, naming the setting, with nothing overwritten; made again when asked to.
        var phase1 = File.ReadAllBytes(Path.Combine(outDir, "phase-1", SparsePhaseRecord.FileName));
        var changed = Options(outDir) with { Retrain = Options(outDir).Retrain with { LearningRate = 0.02 } };
        var refused = Assert.Throws<ModelSoupsException>(() => SparseSoup.Run(changed));
        Assert.Contains("other settings", refused.Message);
        Assert.Contains("retrain:", refused.Message);
        Assert.Equal(Path.Combine(outDir, "phase-1"), refused.Path);
        Assert.Equal(phase1, File.ReadAllBytes(Path.Combine(outDir, "phase-1", SparsePhaseRecord.FileName)));
        var redo = new List<SparseProgress>();
        SparseSoup.Run(changed with { Resume = SparseResume.RedoChanged }, redo.Add);
        Assert.Contains(redo, e => e.Phase == 1 && e.Stage == "redo");
        Assert.Contains(redo, e => e.Phase == 2 && e.Stage == "retrain");
        Assert.NotEqual(phase1, File.ReadAllBytes(Path.Combine(outDir, "phase-1", SparsePhaseRecord.FileName)));
    }
}
