using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Cli;
using ModelSoups.Engine;
using ModelSoups.Evaluation;
using ModelSoups.Recipes;
using ModelSoups.Soups;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.TorchSharp.Tests.Training;

public class FineTuneSweepTests
{
    const string TinyGrid = "base: {batch_size: 16, steps: 4}\ngrid: {lr: [0.01, 0.003]}\n";

    static FineTuneSweepOptions Options(string data, string outDir) => new()
    {
        Model = ModelSpec.Cnn, Data = data, Runs = Sweep.Parse(TinyGrid), Out = outDir, LogEvery = 2,
    };

    [Fact]
    public void Tiny_sweep_writes_ingredients_that_merge_and_greedy_soups_accept_and_resumes()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var outDir = t["sweep"];
        var events = new List<SweepProgress>();
        var results = FineTuneSweep.Run(Options(data, outDir), events.Add);

        Assert.Equal(new[] { "run-000", "run-001" }, results.Select(r => r.Record.Name));
        Assert.All(results, r =>
        {
            Assert.False(r.Skipped);
            Assert.True(File.Exists(Path.Combine(r.Folder, "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(r.Folder, ModelSpec.FileName)));
            Assert.Equal(4, r.Record.Steps);
            Assert.Equal(new[] { 2, 4 }, r.Record.Curve.Select(c => c.Step));
            Assert.InRange(r.Record.HeldOut, 0, 1);
        });
        Assert.True(File.Exists(Path.Combine(outDir, "_init", "model.safetensors")));
        var recorded = IngredientRecord.TryRead(results[1].Folder)!;
        Assert.Equal(0.003, recorded.Hyperparameters.LearningRate);
        Assert.Equal(1UL, recorded.Hyperparameters.DataSeed);

        // Resume: nothing is retrained, records are untouched.
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(results[0].Folder, IngredientRecord.FileName));
        var again = FineTuneSweep.Run(Options(data, outDir));
        Assert.All(again, r => Assert.True(r.Skipped));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(results[0].Folder, IngredientRecord.FileName)));
        // A half-finished run (no ingredient.json) is redone.
        File.Delete(Path.Combine(results[1].Folder, IngredientRecord.FileName));
        var third = FineTuneSweep.Run(Options(data, outDir));
        Assert.Equal(new[] { true, false }, third.Select(r => r.Skipped));
        // Same seed and data: the retrained run has the same weights (deterministic).
        Assert.Equal(results[1].Record.HeldOut, third[1].Record.HeldOut);
        // Other hyperparameters for an existing run are refused.
        var changed = Options(data, outDir) with { Steps = 5 };
        Assert.Contains("other hyperparameters", Assert.Throws<ModelSoupsException>(() => FineTuneSweep.Run(changed)).Message);

        // Linear merge with the streaming engine.
        var merged = t["merged"];
        MergeEngine.Run(QuickRecipe.Build("linear", results.Select(r => r.Folder).ToList()), merged, new MergeOptions { HashInputs = false });
        using (var a = Checkpoint.Open(results[0].Folder))
        using (var b = Checkpoint.Open(results[1].Folder))
        using (var m = Checkpoint.Open(merged))
        {
            var wa = MemoryMarshal.Cast<byte, float>(a.Tensors["conv1.weight"].GetBytes()).ToArray();
            var wb = MemoryMarshal.Cast<byte, float>(b.Tensors["conv1.weight"].GetBytes()).ToArray();
            var wm = MemoryMarshal.Cast<byte, float>(m.Tensors["conv1.weight"].GetBytes()).ToArray();
            for (int i = 0; i < wm.Length; i++) Assert.Equal((wa[i] + wb[i]) / 2, wm[i], 6);
        }

        // Greedy soup scored in process by the TorchSharp evaluator.
        using var evaluator = TorchEvaluator.FromOptions(new TorchEvaluatorOptions { Model = results[0].Folder, Data = data, RecalibrateBatches = 2, BatchSize = 32 });
        Assert.True(evaluator.ProvidesLogits);
        Assert.False(evaluator.NeedsFolder);
        var opened = results.Select(r => Checkpoint.Open(r.Folder)).ToList();
        try
        {
            using var builder = new InMemorySoupBuilder(opened.Select((c, i) => Candidate.FromCheckpoint(results[i].Record.Name, c)).ToList());
            var greedy = GreedySoup.Run(builder, evaluator);
            Assert.Equal(2, greedy.Ingredients.Count);
            Assert.NotEmpty(greedy.Members);
            // A folder-only candidate works too, and logits come with labels.
            var r = evaluator.Evaluate(Candidate.FromFolder("merged", merged));
            Assert.Equal(30, r.Labels!.Length); // 10 % of 300 held out
            Assert.Equal(30 * SyntheticImages.Classes, r.Logits!.Length);
            Assert.InRange(r.Score, 0, 1);
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }

    [Fact]
    public void Cli_finetune_runs_end_to_end_and_resumes()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var sweep = t["sweep.yaml"];
        File.WriteAllText(sweep, TinyGrid);
        var outDir = t["out"];
        string[] args = ["finetune", "--model", "mlp", "--data", data, "--sweep", sweep, "--steps", "3", "--subset", "100", "--out", outDir];
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, SoupApp.Run(args, stdout, stderr));
        Assert.Contains("wrote 2 ingredient(s)", stdout.ToString());
        Assert.Contains("run 2/2 run-001", stderr.ToString());
        Assert.Equal(ModelSpec.MlpName, ModelSpec.Read(Path.Combine(outDir, "run-000")).Architecture);
        Assert.Equal(100, IngredientRecord.TryRead(Path.Combine(outDir, "run-000"))!.TrainImages);

        var again = new StringWriter();
        Assert.Equal(0, SoupApp.Run(args, again, new StringWriter()));
        Assert.Contains("(resumed)", again.ToString());

        var err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["finetune", "--model", "mlp", "--data", data, "--out", outDir], new StringWriter(), err));
        Assert.Contains("--sweep", err.ToString());
    }

    [Fact]
    public void Cli_learn_and_greedy_accept_finetune_ingredients()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var sweep = t["sweep.yaml"];
        File.WriteAllText(sweep, TinyGrid);
        var ft = t["ft"];
        Assert.Equal(0, SoupApp.Run(["finetune", "--model", "mlp", "--data", data, "--sweep", sweep, "--steps", "3", "--subset", "100", "--out", ft], new StringWriter(), new StringWriter()));
        string[] runs = [Path.Combine(ft, "run-000"), Path.Combine(ft, "run-001")];

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(SoupApp.Run(["learn", "--models", .. runs, "--data", data, "--epochs", "1", "--limit", "64", "--out", t["learned"]], stdout, stderr) == 0, stderr.ToString());
        Assert.Contains("learned global soup of 2 ingredient(s)", stdout.ToString());
        using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(t["learned"], "learned.json"))))
        {
            var alpha = doc.RootElement.GetProperty("alpha")[0];
            Assert.Equal(2, alpha.GetArrayLength());
            Assert.Equal(1.0, alpha[0].GetDouble() + alpha[1].GetDouble(), 5);   // softmax weights
        }
        Assert.Equal(ModelSpec.MlpName, ModelSpec.Read(t["learned"]).Architecture);

        var g = new StringWriter();
        var ge = new StringWriter();
        Assert.True(SoupApp.Run(["greedy", "--models", .. runs, "--torch-model", runs[0], "--data", data, "--eval-limit", "64", "--also", "uniform,ensemble", "--out", t["greedy"]], g, ge) == 0, ge.ToString());
        Assert.Contains("greedy soup:", g.ToString());
        Assert.True(File.Exists(Path.Combine(t["greedy"], "report.html")));
        Assert.True(File.Exists(Path.Combine(t["greedy"], "soup-model.json")));
    }
}
