using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.Reports;
using ModelSoups.Soups;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Soups;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Experiments.Vision;

/// <summary>
/// <c>soup demo</c>: Wortsman et al. 2022's experiment in small, end to end. Fashion-MNIST split into training and
/// held-out parts; an ImageNet ResNet-18 with a linear-probed head as the common start; a hyperparameter sweep of
/// full fine-tunes as ingredients; then every ingredient, the best individual (by held-out), the uniform soup, the
/// greedy soup (≥), the learned soup and the logit ensemble, each on held-out, test and the corrupted test sets
/// (<see cref="ShiftEvaluationSets"/>). Averaged models get BatchNorm recalibrated and are saved. Resumable:
/// finished runs, soups and evaluations (<c>work/evaluations.jsonl</c>, a <see cref="Durability.Journal"/>) are reused by a rerun.
/// </summary>
public static class SoupsDemo
{
    /// <summary>Folder names inside the output folder.</summary>
    public const string IngredientsFolder = "ingredients", SoupsFolder = "soups", WorkFolder = "work", CacheFileName = "evaluations.jsonl";

    /// <summary>
    /// Runs the demo; writes <c>results.json</c> and the reports (<see cref="DemoReports.WriteVision"/>, timed as the
    /// stage "report", with the sparse and PLeaS demos' sections when they ran into the same folder) into <see cref="DemoOptions.Out"/>.
    /// </summary>
    /// <param name="o">Settings.</param>
    /// <param name="progress">Hears every stage and the training progress.</param>
    /// <param name="cancel">Stops between steps.</param>
    public static DemoResults Run(DemoOptions o, Action<DemoProgress>? progress = null, CancellationToken cancel = default)
    {
        Validate(o);
        var total = Stopwatch.StartNew();
        var seconds = new List<KeyValuePair<string, double>>();
        void Say(string stage, string text) => progress?.Invoke(new DemoProgress(stage, text));
        var clock = Stopwatch.StartNew();
        void EndStage(string stage)
        {
            seconds.Add(KeyValuePair.Create(stage, clock.Elapsed.TotalSeconds));
            Say(stage, string.Create(CultureInfo.InvariantCulture, $"done in {clock.Elapsed.TotalSeconds:0.0} s"));
            clock.Restart();
        }
        Directory.CreateDirectory(o.Out);

        // ---- 1. data: held-out split, test set, corrupted test sets ----------------------------------
        if (string.Equals(o.Data, DatasetSplits.FashionMnistName, StringComparison.OrdinalIgnoreCase))
            FashionMnistInstaller.EnsureAvailable(o.InstallData, m => Say("data", m));
        var splits = DatasetSplits.Load(o.Data, DatasetSplits.DefaultHeldOutFraction, DatasetSplits.DefaultSplitSeed);
        var sets = ShiftEvaluationSets.Create(splits, o.HeldOutImages, o.TestImages, o.ShiftImages, o.Severity, o.Seed);
        var trainSample = o.TrainImages is { } n ? splits.Train.Sample(n, DatasetSplits.DefaultSplitSeed) : splits.Train;
        Say("data", $"{trainSample.Count} training, {sets.HeldOut.Count} held-out, {sets.Test.Count} test images; shifts: " +
            string.Join(", ", sets.Shifts.Select(s => $"{s.Name} ({s.Data.Count})")) + $" at severity {o.Severity}");
        EndStage("data");

        // ---- 2-3. common start (linear probe) and the sweep of fine-tunes ------------------------------
        var ingredientsDir = Path.Combine(o.Out, IngredientsFolder);
        bool probed = false;
        var trained = FineTuneSweep.Run(new FineTuneSweepOptions
        {
            Model = o.Architecture, Data = o.Data, Runs = Sweep(o), Out = ingredientsDir, Subset = o.TrainImages,
            ImageSize = o.ImageSize, Seed = o.Seed, LinearProbeSteps = o.LinearProbeSteps, RecalibrateBeforeProbe = o.RecalibrateBatches,
        }, p =>
        {
            progress?.Invoke(new DemoProgress(p.Run < 0 ? "linear_probe" : "fine_tune", null, p));
            if (p.Run < 0 && p.Done && !probed) { probed = true; EndStage("linear_probe"); }
        }, cancel);
        EndStage("fine_tune");

        var spec = ModelSpec.Read(Path.Combine(ingredientsDir, FineTuneSweep.InitFolderName));
        var names = trained.Select(t => t.Record.Name).ToArray();
        var opened = new List<ICheckpoint>();
        try
        {
            foreach (var t in trained) opened.Add(Checkpoint.Open(t.Folder));
            using var evaluator = new ShiftEvaluator(spec, sets, trainSample, o.RecalibrateBatches, o.RecalibrateBatchSize);
            using var cache = new DemoEvaluationCache(Path.Combine(o.Out, WorkFolder, CacheFileName), string.Join(" | ",
                "v1", spec.Describe(), sets.Description, $"recalibrate {o.RecalibrateBatches}x{o.RecalibrateBatchSize}",
                $"learned {o.LearnedSoupEpochs}x{o.LearnedSoupImages}/{o.LearnedSoupBatchSize}",
                string.Join(",", trained.Select(t => t.Record.Name + ":" + t.Record.HeldOut.ToString("R", CultureInfo.InvariantCulture)))));
            if (cache.Discarded) Say("evaluate", "the evaluation cache was made with other settings; evaluating again");

            // ---- 4a. every ingredient on every set ----------------------------------------------------
            var scores = new ShiftScores[names.Length];
            for (int i = 0; i < names.Length; i++)
            {
                cancel.ThrowIfCancellationRequested();
                var key = DemoRow.IngredientPrefix + names[i];
                if (cache.TryGet(key, out var cached, out _)) { scores[i] = cached; Say("evaluate", $"{names[i]}: reused"); continue; }
                scores[i] = evaluator.Evaluate(opened[i], cancel: cancel);
                cache.Put(key, scores[i], [names[i]]);
                Say("evaluate", $"{names[i]}: {Line(scores[i])}");
            }
            // The common start itself (pretrained + linear-probed head), for reference: not an ingredient.
            ShiftScores start;
            if (cache.TryGet(DemoResults.LinearProbe, out var st, out _)) start = st;
            else
            {
                using var init = Checkpoint.Open(Path.Combine(ingredientsDir, FineTuneSweep.InitFolderName));
                start = evaluator.Evaluate(init, cancel: cancel);
                cache.Put(DemoResults.LinearProbe, start, []);
            }
            Say("evaluate", $"{FineTuneSweep.InitFolderName} (linear probe): {Line(start)}");
            EndStage("evaluate");

            // ---- 4b. logit ensemble: mean logits of every ingredient, per set -------------------------
            ShiftScores ensemble;
            if (cache.TryGet(DemoResults.Ensemble, out var ens, out _)) ensemble = ens;
            else
            {
                for (int i = 0; i < names.Length; i++)
                    if (scores[i].Results is null) scores[i] = evaluator.Evaluate(opened[i], cancel: cancel); // logits are not cached
                ensemble = Ensemble(scores, names);
                cache.Put(DemoResults.Ensemble, ensemble, names);
            }
            Say("ensemble", Line(ensemble));
            EndStage("ensemble");

            var candidates = opened.Select((c, i) => Candidate.FromCheckpoint(names[i], c)).ToList();
            var soupsDir = Path.Combine(o.Out, SoupsFolder);

            // ---- 4c. uniform soup of every ingredient -------------------------------------------------
            var uniform = Soup(DemoResults.UniformSoup, names, () => evaluator.Recalibrate(InMemorySoupBuilder.Uniform(candidates)));
            EndStage("uniform_soup");

            // ---- 4d. greedy soup (paper: ≥) on held-out, candidates recalibrated ----------------------
            var (greedy, averaged) = DemoGreedySoup.Run(candidates, scores.Select(s => s.HeldOut).ToList(), evaluator.HeldOutEvaluator(recalibrate: true),
                cache, evaluator.Recalibrate, line => Say("greedy_soup", line), cancel);
            // One member: the soup is that ingredient as trained (no averaging, nothing to recalibrate).
            var greedySoup = averaged ?? opened[greedy.Members[0]];
            var greedyScores = Soup(DemoResults.GreedySoup, greedy.MemberNames, () => greedySoup);
            EndStage("greedy_soup");

            // ---- 4e. learned soup: mixing weights fitted on held-out data ------------------------------
            (ShiftScores Scores, string[] Members)? learned = null;
            if (o.LearnedSoupEpochs > 0)
            {
                learned = Soup(DemoResults.LearnedSoup, names, () =>
                {
                    var fitOn = o.LearnedSoupImages is { } m ? sets.HeldOut.Sample(m, o.Seed) : sets.HeldOut;
                    var result = LearnedSoup.Run(spec, names.Zip(opened, (a, b) => (a, b)).ToList(), fitOn,
                        new LearnedSoupOptions { Epochs = o.LearnedSoupEpochs, BatchSize = o.LearnedSoupBatchSize, Seed = o.Seed },
                        (epoch, step, loss) => Say("learned_soup", string.Create(CultureInfo.InvariantCulture, $"epoch {epoch} step {step} loss {loss:0.0000}")), cancel);
                    Say("learned_soup", "α: " + string.Join(", ", result.Ingredients.Zip(result.Alpha[0], (a, w) => string.Create(CultureInfo.InvariantCulture, $"{a} {w:0.000}"))));
                    Durability.AtomicFile.WriteAllText(Path.Combine(o.Out, WorkFolder, "learned.json"), JsonSerializer.Serialize(new { ingredients = result.Ingredients, alpha = result.Alpha, beta = result.Beta, curve = result.Curve, examples = result.Examples, seconds = result.Seconds }, new JsonSerializerOptions { WriteIndented = true }));
                    return evaluator.Recalibrate(result.Soup);
                });
                EndStage("learned_soup");
            }

            // ---- 5. the table ---------------------------------------------------------------------------
            int best = Enumerable.Range(0, names.Length).MaxBy(i => scores[i].HeldOut); // first of equals: sweep order
            var rows = new List<DemoRow>
            {
                Row(DemoResults.BestIndividual, scores[best], [names[best]], 1, "chosen by held-out accuracy"),
                Row(DemoResults.UniformSoup, uniform.Scores, uniform.Members, 1, "BatchNorm recalibrated"),
                Row(DemoResults.GreedySoup, greedyScores.Scores, greedyScores.Members, 1,
                    greedy.Members.Count == 1 ? "only the best ingredient was kept" : "BatchNorm recalibrated"),
            };
            if (learned is { } l) rows.Add(Row(DemoResults.LearnedSoup, l.Scores, l.Members, 1, "fitted on held-out data; BatchNorm recalibrated"));
            rows.Add(Row(DemoResults.Ensemble, ensemble, names, names.Length, "mean of the ingredients' logits"));
            rows.Add(Row(DemoResults.LinearProbe, start, [], 1, "the common start (pretrained + linear-probed head), not an ingredient"));
            for (int i = 0; i < names.Length; i++)
                rows.Add(Row(DemoRow.IngredientPrefix + names[i], scores[i], [names[i]], 1, trained[i].Record.Hyperparameters.Describe()));

            seconds.Add(KeyValuePair.Create("total", total.Elapsed.TotalSeconds));
            var results = new DemoResults
            {
                Rows = rows,
                Seconds = seconds,
                ShiftDescriptions = sets.Shifts.Select(s => KeyValuePair.Create(s.Name,
                    Corruptions.Describe(Corruptions.All.First(k => Corruptions.Name(k) == s.Name), o.Severity))).ToList(),
                Settings = Settings(o, spec, sets, trainSample.Count),
            };
            clock.Restart();
            DemoReports.WriteVision(o.Out, results);
            seconds.Insert(seconds.Count - 1, KeyValuePair.Create("report", clock.Elapsed.TotalSeconds));
            seconds[^1] = KeyValuePair.Create("total", total.Elapsed.TotalSeconds);
            results = results with { Seconds = seconds };
            DemoReports.WriteVision(o.Out, results); // again, so the report shows its own stage time
            var path = Path.Combine(o.Out, DemoResults.FileName);
            Durability.AtomicFile.WriteAllText(path, results.ToJson());
            return results;

            // A soup: reused when its folder and its evaluation exist with the same members, else made, saved and evaluated.
            (ShiftScores Scores, string[] Members) Soup(string method, IReadOnlyList<string> members, Func<ICheckpoint> make)
            {
                var folder = Path.Combine(soupsDir, method.Replace("_soup", "", StringComparison.Ordinal));
                if (cache.TryGet(method, out var cached, out var cachedMembers) && cachedMembers.SequenceEqual(members)
                    && File.Exists(Path.Combine(folder, ModelSpec.FileName)))
                {
                    Say(method, $"reused {folder}: {Line(cached)}");
                    return (cached, cachedMembers);
                }
                var soup = make();
                ModuleFolder.Save(soup, spec, folder, new Dictionary<string, string> { ["members.json"] = JsonSerializer.Serialize(members) }, overwrite: true);
                var s = evaluator.Evaluate(soup, cancel: cancel);
                cache.Put(method, s, members);
                Say(method, $"{members.Count} ingredient(s): {Line(s)}");
                return (s, members.ToArray());
            }
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }

    /// <summary>The sweep: seeded random lr (log-uniform), weight decay, label smoothing, augmentation (from <see cref="DemoOptions.Augmentations"/>) and data order; epochs cycle through <see cref="DemoOptions.Epochs"/>.</summary>
    public static IReadOnlyList<SweepRun> Sweep(DemoOptions o)
    {
        SweepDistribution Choice(params double[] values) => new SweepDistribution.Choice(values.Select(v => (object)v).ToList());
        var axes = new List<SweepAxis>
        {
            new("lr", new SweepDistribution.LogUniform(o.LearningRate.Min, o.LearningRate.Max)),
            new("weight_decay", Choice(0, 0.0001, 0.01, 0.1)),
            new("label_smoothing", Choice(0, 0.1)),
            new("augmentation", Choice([.. o.Augmentations])),
        };
        return ModelSoups.TorchSharp.Training.Sweep.Random(new TrainingHyperparameters { BatchSize = o.BatchSize }, o.Ingredients, (ulong)o.Seed, axes)
            .Select((r, i) => r with { Hyperparameters = r.Hyperparameters with { Epochs = o.Epochs[i % o.Epochs.Count] } })
            .ToList();
    }

    static void Validate(DemoOptions o)
    {
        if (o.Ingredients < 1) throw new ModelSoupsException("the demo needs at least one ingredient");
        if (o.Epochs.Count == 0 || o.Epochs.Any(e => e < 1)) throw new ModelSoupsException("epochs must be at least 1");
        if (o.Severity is < 1 or > Corruptions.MaxSeverity) throw new ModelSoupsException($"the corruption severity must be 1..{Corruptions.MaxSeverity}");
        if (o.RecalibrateBatches < 1) throw new ModelSoupsException("BatchNorm recalibration needs at least one batch");
        if (o.TrainImages is < 1 || o.HeldOutImages is < 1 || o.TestImages is < 1 || o.ShiftImages is < 1 || o.LearnedSoupImages is < 1)
            throw new ModelSoupsException("image counts must be at least 1");
    }

    static ShiftScores Ensemble(ShiftScores[] scores, string[] names)
    {
        var sets = scores[0].Results!.Select(r => r.Set).ToList();
        var results = new List<(string, EvaluationResult)>();
        foreach (var set in sets)
        {
            var e = new EnsembleLogits();
            for (int i = 0; i < scores.Length; i++) e.Add(i, scores[i].Results!.First(r => r.Set == set).Result, names[i]);
            results.Add((set, e.Evaluate()));
        }
        return ShiftScores.From(results);
    }

    static DemoRow Row(string method, ShiftScores s, IReadOnlyList<string> members, double cost, string note) =>
        new(method, s.HeldOut, s.Test, s.Ood, members, cost, s.Shifts, note);

    static string Line(ShiftScores s) => string.Create(CultureInfo.InvariantCulture,
        $"held-out {s.HeldOut:P2}, test {s.Test:P2}, OOD mean {s.Ood:P2}");

    static Dictionary<string, string> Settings(DemoOptions o, ModelSpec spec, ShiftEvaluationSets sets, int trainImages)
    {
        static string I(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "all";
        return new Dictionary<string, string>
        {
            ["preset"] = o.Preset,
            ["data"] = o.Data,
            ["model"] = spec.Describe(),
            ["ingredients"] = o.Ingredients.ToString(CultureInfo.InvariantCulture),
            ["train_images"] = trainImages.ToString(CultureInfo.InvariantCulture),
            ["epochs_cycle"] = string.Join(",", o.Epochs),
            ["batch_size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["lr_range"] = string.Create(CultureInfo.InvariantCulture, $"{o.LearningRate.Min:G3}..{o.LearningRate.Max:G3} (log-uniform)"),
            ["linear_probe_steps"] = o.LinearProbeSteps.ToString(CultureInfo.InvariantCulture),
            ["heldout_images"] = sets.HeldOut.Count.ToString(CultureInfo.InvariantCulture),
            ["test_images"] = sets.Test.Count.ToString(CultureInfo.InvariantCulture),
            ["shift_images"] = I(sets.Shifts.Count > 0 ? sets.Shifts[0].Data.Count : null),
            ["severity"] = o.Severity.ToString(CultureInfo.InvariantCulture),
            ["recalibration"] = string.Create(CultureInfo.InvariantCulture, $"{o.RecalibrateBatches} batches of {o.RecalibrateBatchSize} training images"),
            ["learned_soup"] = o.LearnedSoupEpochs == 0 ? "off" : string.Create(CultureInfo.InvariantCulture,
                $"{o.LearnedSoupEpochs} epoch(s) on {I(o.LearnedSoupImages)} held-out images, batch {o.LearnedSoupBatchSize}"),
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["machine"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["created"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
        };
    }
}
