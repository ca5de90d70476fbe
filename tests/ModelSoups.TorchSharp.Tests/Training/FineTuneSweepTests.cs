using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Cli;
using ModelSoups.Durability;
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
    public void Resume_is_decided_by_the_fingerprint_journal_killed_runs_are_redone_and_other_settings_are_refused()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var outDir = t["sweep"];
        var first = FineTuneSweep.Run(Options(data, outDir));
        Assert.All(first, r => Assert.False(r.Skipped));

        // Each run is in the journal, recorded with the fingerprint its ingredient.json carries.
        using (var j = UnitJournal.OpenReadOnly(FineTuneSweep.JournalPath(outDir)))
        {
            Assert.Equal(new[] { "_init", "run-000", "run-001" }, j.Units());
            Assert.Equal(first[0].Record.Fingerprint, j.Recorded("run-000")!.Digest);
            Assert.Equal("0.003", j.Recorded("run-001")!.Settings["lr"]);
            Assert.Equal(32, j.Recorded("run-001")!.Settings["start"].Length);
        }

        // Without the journal: run-000's result (as a worker leaves it, before the client records it) is recorded and
        // reused; run-001 was killed mid-write (its model folder saved, then garbage, no ingredient.json) and is redone.
        File.Delete(FineTuneSweep.JournalPath(outDir));
        File.Delete(Path.Combine(first[1].Folder, IngredientRecord.FileName));
        File.WriteAllBytes(Path.Combine(first[1].Folder, "model.safetensors"), [1, 2, 3]);
        var resumed = FineTuneSweep.Run(Options(data, outDir));
        Assert.Equal(new[] { true, false }, resumed.Select(r => r.Skipped));
        using (var redone = Checkpoint.Open(first[1].Folder)) Assert.Contains("conv1.weight", redone.Tensors.Keys);
        Assert.Equal(first[1].Record.HeldOut, resumed[1].Record.HeldOut);   // deterministic: the same run again
        using (var j = UnitJournal.OpenReadOnly(FineTuneSweep.JournalPath(outDir)))
            Assert.Equal(new[] { "_init", "run-000", "run-001" }, j.Units());

        // Other images under the same file name: the start was made from other data; refused, naming what changed.
        SyntheticImages.WriteFile(t, seed: 2);
        var e = Assert.Throws<ModelSoupsException>(() => FineTuneSweep.Run(Options(data, outDir)));
        Assert.Equal(Path.Combine(outDir, "_init"), e.Path);
        Assert.StartsWith("the common start here was made with other settings (train_data: ", e.Message);
        // Back to the same images; a setting that changes only the runs' results (their recorded curve): the runs are refused.
        SyntheticImages.WriteFile(t, seed: 1);
        var r = Assert.Throws<ModelSoupsException>(() => FineTuneSweep.Run(Options(data, outDir) with { LogEvery = 1 }));
        Assert.Equal(first[0].Folder, r.Path);
        Assert.StartsWith("this run was made with other settings (log_every: 2 → 1); use another output folder", r.Message);
        Assert.All(FineTuneSweep.Run(Options(data, outDir)), x => Assert.True(x.Skipped));
    }

    [Fact]
    public void Cli_finetune_refuses_a_changed_learning_rate_and_a_corrupt_journal_in_one_line()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t);
        var sweep = t["sweep.yaml"];
        File.WriteAllText(sweep, TinyGrid);
        var outDir = t["out"];
        string[] args = ["finetune", "--model", "mlp", "--data", data, "--sweep", sweep, "--steps", "3", "--subset", "100", "--out", outDir];
        Assert.Equal(0, SoupApp.Run(args, new StringWriter(), new StringWriter()));
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(outDir, "run-000", "model.safetensors"));

        // run-001's lr changes (0.003 -> 0.002): run-000 is reused, run-001 refused, nothing retrained or overwritten.
        File.WriteAllText(sweep, "base: {batch_size: 16, steps: 4}\ngrid: {lr: [0.01, 0.002]}\n");
        var err = new StringWriter();
        var output = new StringWriter();
        int code = SoupApp.Run(args, output, err);
        Assert.True(code == 2, $"exit {code}: {output}{err}");
        var line = Assert.Single(err.ToString().Trim().Split('\n'), l => l.StartsWith("soup:", StringComparison.Ordinal));
        Assert.Contains(Path.Combine(outDir, "run-001"), line);
        Assert.Contains("other hyperparameters", line);
        Assert.Equal(0.003, IngredientRecord.TryRead(Path.Combine(outDir, "run-001"))!.Hyperparameters.LearningRate);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(outDir, "run-000", "model.safetensors")));

        // A damaged journal line is named, not trusted and not repaired silently.
        File.WriteAllText(sweep, TinyGrid);
        var journal = FineTuneSweep.JournalPath(outDir);
        var lines = File.ReadAllLines(journal);
        Assert.StartsWith("{\"key\":\"done:_init:1\"", lines[1]);
        lines[1] = lines[1].Replace("done:_init:1", "done:_init:7", StringComparison.Ordinal);
        File.WriteAllLines(journal, lines);
        var bad = new StringWriter();
        Assert.Equal(2, SoupApp.Run(args, new StringWriter(), bad));
        var badLine = Assert.Single(bad.ToString().Trim().Split('\n'), l => l.StartsWith("soup:", StringComparison.Ordinal));
        Assert.Contains(journal, badLine);
        Assert.Contains("corrupt at line 2 (checksum mismatch", badLine);
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
