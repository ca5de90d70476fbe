using ModelSoups.Cli;
using ModelSoups.Cli.Commands;
using ModelSoups.Experiments.Text;
using ModelSoups.Reports;

namespace ModelSoups.TorchSharp.Tests.Demo;

public class TextSoupsDemoTests
{
    /// <summary>The real corpus and MiniLM at toy sizes: 8 tokens, 16 training emails, 2 ingredients of one epoch.</summary>
    static TextDemoOptions Tiny(string output, int seeds) => new()
    {
        Out = output, Preset = "test", Seeds = seeds, Ingredients = 2, TrainEmails = 16, Tokens = 8, Epochs = [1], BatchSize = 8,
        LearningRate = (5e-5, 2e-4), LinearProbeSteps = 3, HeldOut = 24, Test = 20, Shift = 20, LearnedSoupEpochs = 1,
        LearnedSoupEmails = 8, LearnedSoupBatchSize = 8, Threads = 1, MaxBodyChars = 200,
    };

    [Fact]
    public void Tiny_text_demo_fills_every_table3_row_tests_greedy_against_best_resumes_and_repeats_bit_for_bit()
    {
        using var t = new TempFolder();
        var output = t["demo"];
        var summary = DemoCommand.RunText(Tiny(output, seeds: 2), new StringWriter());

        Assert.Equal([0, 1], summary.Seeds.Select(s => s.Seed));
        Assert.Equal(new Dictionary<string, int> { ["heldout"] = 24, ["test"] = 20, ["shift"] = 20 }, summary.SetSizes);
        string[] rows = [DemoResults.BestIndividual, DemoResults.UniformSoup, DemoResults.GreedySoup, DemoResults.LearnedSoup, DemoResults.Ensemble, DemoResults.LinearProbe, "ingredient:run-000", "ingredient:run-001"];
        foreach (var seed in summary.Seeds)
        {
            var r = seed.Results;
            Assert.Equal(rows, r.Rows.Select(x => x.Method));
            // Accuracies are counts over the set sizes.
            Assert.All(r.Rows, x =>
            {
                Assert.Equal(Math.Round(x.HeldOut * 24), x.HeldOut * 24, 9);
                Assert.Equal(Math.Round(x.Test * 20), x.Test * 20, 9);
                Assert.Equal(Math.Round(x.Ood * 20), x.Ood * 20, 9);
            });
            var ingredients = r.Rows.Where(x => x.IsIngredient).ToList();
            var best = r.Row(DemoResults.BestIndividual)!;
            Assert.Equal(ingredients.Max(x => x.HeldOut), best.HeldOut);
            Assert.Equal(ingredients.First(x => x.HeldOut == best.HeldOut).Test, best.Test);   // first of equals, sweep order
            Assert.Equal(2, r.Row(DemoResults.Ensemble)!.Cost);
            Assert.Equal(["run-000", "run-001"], r.Row(DemoResults.UniformSoup)!.Members);
            var greedy = r.Row(DemoResults.GreedySoup)!;
            Assert.True(greedy.HeldOut >= best.HeldOut, "the greedy soup never scores below its first member on held-out");
            // McNemar's discordant counts agree with the accuracies: (acc_A − acc_B)·n = only-A − only-B.
            Assert.Equal(["test", "shift"], seed.Paired.Select(p => p.Set));
            foreach (var p in seed.Paired)
            {
                Assert.Equal(p.AOnly - p.BOnly, (int)Math.Round((p.AAccuracy - p.BAccuracy) * 20));
                Assert.InRange(p.PValue, 0, 1);
            }
            Assert.Equal(greedy.Test, seed.Paired[0].AAccuracy);
            Assert.Equal(best.Ood, seed.Paired[1].BAccuracy);
        }
        // Different sweep seeds draw different hyperparameters from the same start.
        Assert.NotEqual(summary.Seeds[0].Results.Rows[^1].Note, summary.Seeds[1].Results.Rows[^1].Note);
        Assert.Equal(summary.Seeds[0].Results.Row(DemoResults.LinearProbe)!.Test, summary.Seeds[1].Results.Row(DemoResults.LinearProbe)!.Test);

        foreach (var file in new[] { "summary.json", "report.html", "report.md", "seed-0/report.html", "seed-1/results.json", "_init/model.safetensors", "seed-1/soups/uniform/model.safetensors" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.Equal(summary.Headline(), TextDemoSummary.FromJson(File.ReadAllText(Path.Combine(output, "summary.json"))).Headline());
        var printed = new StringWriter();
        DemoCommand.PrintText(summary, output, printed);
        Assert.Contains(summary.Headline(), printed.ToString());
        Assert.Contains("McNemar exact p", printed.ToString());

        // Rerun: nothing is trained again, the numbers are the same.
        var trained = File.GetLastWriteTimeUtc(Path.Combine(output, "seed-0", "ingredients", "run-001", "model.safetensors"));
        var log = new StringWriter();
        var again = DemoCommand.RunText(Tiny(output, seeds: 2), log);
        Assert.Equal(trained, File.GetLastWriteTimeUtc(Path.Combine(output, "seed-0", "ingredients", "run-001", "model.safetensors")));
        Assert.Equal(TextDemoTable.Text(summary), TextDemoTable.Text(again));
        // Each ingredient is recorded in the seed's unit journal with the fingerprint its ingredient.json carries.
        using (var units = ModelSoups.Durability.UnitJournal.OpenReadOnly(Path.Combine(output, "seed-0", "work", ModelSoups.Durability.UnitJournal.FileName)))
        {
            var record = ModelSoups.TorchSharp.Training.IngredientRecord.TryRead(Path.Combine(output, "seed-0", "ingredients", "run-001"))!;
            Assert.Equal(record.Fingerprint, units.Recorded("run-001")!.Digest);
            using var start = ModelSoups.Durability.UnitJournal.OpenReadOnly(Path.Combine(output, "work", ModelSoups.Durability.UnitJournal.FileName));
            Assert.Equal(new[] { "_init" }, start.Units());   // the common start, recorded once for both seeds and the rerun
            Assert.Equal(record.Hyperparameters.LearningRate, System.Text.Json.JsonDocument.Parse(units.Recorded("run-001")!.Settings["hyperparameters"]).RootElement.GetProperty("lr").GetDouble());
        }

        // A fresh run of the same settings in another folder repeats seed 0 bit for bit (fixed threads, seeded order).
        var fresh = DemoCommand.RunText(Tiny(t["fresh"], seeds: 1), new StringWriter());
        Assert.Equal(summary.Seeds[0].Results.Rows.Select(x => (x.Method, x.HeldOut, x.Test, x.Ood)), fresh.Seeds[0].Results.Rows.Select(x => (x.Method, x.HeldOut, x.Test, x.Ood)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "seed-0", "ingredients", "run-000", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(t["fresh"], "seed-0", "ingredients", "run-000", "model.safetensors")));
    }

    [Fact]
    public void A_held_out_only_probe_never_evaluates_test_or_shift()
    {
        using var t = new TempFolder();
        var summary = DemoCommand.RunText(Tiny(t["probe"], seeds: 1) with { HeldOutOnly = true }, new StringWriter());
        var rows = summary.Seeds[0].Results.Rows;
        Assert.DoesNotContain(rows, r => r.Method == DemoResults.LearnedSoup);
        Assert.All(rows, r => { Assert.True(double.IsNaN(r.Test)); Assert.True(double.IsNaN(r.Ood)); Assert.InRange(r.HeldOut, 0, 1); });
        Assert.Empty(summary.Seeds[0].Paired);
        Assert.StartsWith("A held-out-only settings probe over 1 sweep(s)", summary.Headline());
        Assert.Contains("held-out-only probe", summary.Settings["preset"]);
    }

    [Fact]
    public void Bad_demo_options_are_refused_with_one_line()
    {
        var err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["demo", "--vision", "--sparse", "--out", Path.GetTempPath()], new StringWriter(), err));
        Assert.Contains("at most one of --vision, --sparse and --pleas", err.ToString());
        Assert.Equal(2, SoupApp.Run(["demo", "--seeds", "0", "--out", Path.GetTempPath()], new StringWriter(), new StringWriter()));
        Assert.Equal(2, SoupApp.Run(["demo", "--vision", "--seeds", "2", "--out", Path.GetTempPath()], new StringWriter(), new StringWriter()));
        var lrErr = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["demo", "--lr", "2e-4,2e-5", "--out", Path.GetTempPath()], new StringWriter(), lrErr));
        Assert.Contains("--lr needs MIN,MAX", lrErr.ToString());
        Assert.Equal(2, SoupApp.Run(["demo", "--sparse", "--held-out-only", "--out", Path.GetTempPath()], new StringWriter(), new StringWriter()));
        var e = Assert.Throws<ModelSoupsException>(() => TextSoupsDemo.Run(Tiny(Path.GetTempPath(), 1) with { Tokens = 2 }));
        Assert.Contains("tokens", e.Message);
    }

    [Fact]
    public void Typed_sweep_draws_the_same_runs_as_the_sweep_file_it_replaces()
    {
        // The demo used to write this YAML and parse it; the typed Sweep.Random must draw exactly the same runs
        // (same axes in the same order, same seed), so folders of earlier runs resume.
        var o = TextDemoOptions.Default(Path.GetTempPath());
        foreach (int seed in new[] { 0, 2 })
        {
            static string List(IEnumerable<double> v) => string.Join(", ", v.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            var yaml = string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
                base: {batch_size: {{o.BatchSize}}, warmup: 0.1}
                random:
                  runs: {{o.Ingredients}}
                  seed: {{1000 + seed}}
                  lr: {log_uniform: [{{o.LearningRate.Min:R}}, {{o.LearningRate.Max:R}}]}
                  weight_decay: {choice: [{{List(o.WeightDecays)}}]}
                  label_smoothing: {choice: [{{List(o.LabelSmoothings)}}]}
                """);
            var fromFile = ModelSoups.TorchSharp.Training.Sweep.Parse(yaml)
                .Select((r, i) => r with { Hyperparameters = r.Hyperparameters with { Epochs = o.Epochs[i % o.Epochs.Count] } }).ToList();
            var typed = TextSoupsDemo.Sweep(o, seed);
            Assert.Equal(fromFile, typed);
            Assert.Equal(o.Ingredients, typed.Count);
            Assert.Equal(typed.Count, typed.Select(r => r.Hyperparameters.LearningRate).Distinct().Count());
        }
    }
}
