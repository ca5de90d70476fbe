using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Durability;
using ModelSoups.Evaluation;
using ModelSoups.Experiments.Vision;
using ModelSoups.Reports;
using ModelSoups.Soups;
using ModelSoups.Statistics;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using ModelSoups.TorchSharp.Soups;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Experiments.Text;

/// <summary>
/// <c>soup demo</c>: Wortsman et al. 2022's experiment where its effect can show — a strong pre-trained encoder
/// (all-MiniLM-L6-v2, LayerNorm only), an LP-FT start and small learning rates. SpamAssassin spam vs ham
/// (<see cref="TextSplits"/>: train/held-out/test from the early groups, the later groups as a time shift); one common
/// start (<c>_init/</c>: pre-trained encoder + linear-probed head); per sweep seed a random sweep of full fine-tunes, then
/// every row of Table 3 (each ingredient, best individual, uniform, greedy (≥), learned soup, logit ensemble, the start)
/// on held-out, test and shift, and McNemar's test of greedy vs best individual. Resumable: the start, finished runs
/// and evaluations (<c>seed-N/work/evaluations.jsonl</c>, a <see cref="DemoEvaluationCache"/> with logits) are reused by a rerun.
/// </summary>
public static class TextSoupsDemo
{
    /// <summary>Folder names.</summary>
    public const string InitFolder = "_init", IngredientsFolder = "ingredients", SoupsFolder = "soups", WorkFolder = "work", CacheFileName = "evaluations.jsonl";
    /// <summary>The shift's name in the per-seed results.</summary>
    public const string ShiftName = "time shift";

    /// <summary>
    /// Runs the demo; writes the summary (<see cref="TextDemoSummary.FileName"/>) and the reports
    /// (<see cref="DemoReports.WriteText"/>: per sweep and over sweeps, with the sparse and PLeaS demos' sections when they ran into the same folder).
    /// </summary>
    public static TextDemoSummary Run(TextDemoOptions o, Action<DemoProgress>? progress = null, CancellationToken cancel = default)
    {
        Validate(o);
        TorchRuntime.FixThreads(o.Threads);
        var total = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        var seconds = new List<KeyValuePair<string, double>>();
        void Say(string stage, string text) => progress?.Invoke(new DemoProgress(stage, text));
        void EndStage(string stage)
        {
            seconds.Add(KeyValuePair.Create(stage, clock.Elapsed.TotalSeconds));
            Say(stage, string.Create(CultureInfo.InvariantCulture, $"done in {clock.Elapsed.TotalSeconds:0.0} s"));
            clock.Restart();
        }
        Directory.CreateDirectory(o.Out);

        // ---- 1. data -------------------------------------------------------------------------------
        var tarball = SpamAssassinInstaller.EnsureAvailable(o.InstallData, m => Say("data", m));
        var emails = SpamAssassinCorpus.Read(tarball, o.MaxBodyChars);
        var splits = TextSplits.Create(emails, WordPieceTokenizer.MiniLm(), o.Tokens, o.TrainEmails, o.HeldOut, o.Test, o.Shift, o.SplitSeed);
        var sets = new ShiftEvaluationSets(splits.HeldOut, splits.Test, [(ShiftName, splits.Shift)], 0, splits.Description);
        Say("data", splits.Description);
        EndStage("data");

        // ---- 2. the common start: pre-trained MiniLM + linear-probed head ----------------------------
        var spec = ModelSpec.ForArchitecture(ModelSpec.MiniLm, 2, 1, o.Tokens, o.Tokens);
        var initFolder = Path.Combine(o.Out, InitFolder);
        var start = EnsureStart(o, spec, splits, initFolder, p => progress?.Invoke(new DemoProgress("linear_probe", null, p)), cancel);
        EndStage("linear_probe");

        // ---- 3. per sweep seed: ingredients, soups, table ---------------------------------------------
        var seedResults = new List<TextSeedResult>();
        using (var evaluator = new ShiftEvaluator(spec, sets))
        {
            for (int seed = 0; seed < o.Seeds; seed++)
            {
                seedResults.Add(RunSeed(o, seed, spec, splits, sets, start, evaluator, progress, Say, cancel));
                EndStage($"sweep_{seed}");
            }
        }

        seconds.Add(KeyValuePair.Create("total", total.Elapsed.TotalSeconds));
        var summary = new TextDemoSummary
        {
            Seeds = seedResults,
            SetSizes = new Dictionary<string, int> { ["heldout"] = splits.HeldOut.Count, ["test"] = splits.Test.Count, ["shift"] = splits.Shift.Count },
            Seconds = seconds,
            Settings = Settings(o, splits),
        };
        DemoReports.WriteText(o.Out, summary);
        Durability.AtomicFile.WriteAllText(Path.Combine(o.Out, TextDemoSummary.FileName), summary.ToJson());
        return summary;
    }

    /// <summary>The seed's sweep: lr log-uniform, weight decay, label smoothing and data order drawn with the seed (1000 + seed); epochs cycle.</summary>
    public static IReadOnlyList<SweepRun> Sweep(TextDemoOptions o, int seed)
    {
        ArgumentNullException.ThrowIfNull(o);
        static SweepDistribution Choice(IEnumerable<double> values) => new SweepDistribution.Choice([.. values.Select(v => (object)v)]);
        var axes = new List<SweepAxis>
        {
            new("lr", new SweepDistribution.LogUniform(o.LearningRate.Min, o.LearningRate.Max)),
            new("weight_decay", Choice(o.WeightDecays)),
            new("label_smoothing", Choice(o.LabelSmoothings)),
        };
        return ModelSoups.TorchSharp.Training.Sweep.Random(new TrainingHyperparameters { BatchSize = o.BatchSize, Warmup = 0.1 }, o.Ingredients, (ulong)(1000 + seed), axes)
            .Select((r, i) => r with { Hyperparameters = r.Hyperparameters with { Epochs = o.Epochs[i % o.Epochs.Count] } })
            .ToList();
    }

    static InMemoryCheckpoint EnsureStart(TextDemoOptions o, ModelSpec spec, TextSplits splits, string folder, Action<SweepProgress> progress, CancellationToken cancel)
    {
        var settings = new SortedDictionary<string, string>
        {
            ["model"] = $"{ModelSpec.MiniLm} ({MiniLmPackage.PackageId} {MiniLmPackage.Version})",
            ["data"] = splits.Description,
            ["linear_probe_steps"] = o.LinearProbeSteps.ToString(CultureInfo.InvariantCulture),
            ["seed"] = o.SplitSeed.ToString(CultureInfo.InvariantCulture),
            ["threads"] = o.Threads?.ToString(CultureInfo.InvariantCulture) ?? "all",
            // Not a property of the start, but of every run trained from it: a changed setting must not mix into old runs.
            ["freeze_embeddings"] = o.FreezeEmbeddings ? "true" : "false",
            // By content, not only by description: the emails (tokenised) the head is probed on.
            ["train_data"] = splits.Train.ContentDigest(),
        };
        var description = JsonSerializer.Serialize(settings, new JsonSerializerOptions { WriteIndented = true });
        var fingerprint = new UnitFingerprint(settings);
        // The start is a unit as in the sweep (FineTuneSweep.StartIsMade): init.json is its result file, OUT/work/units.jsonl records it.
        using var units = UnitJournal.Open(Path.Combine(o.Out, WorkFolder, UnitJournal.FileName), "text-demo-start");
        if (!FineTuneSweep.StartIsMade(folder, fingerprint, units))
        {
            progress(new SweepProgress(-1, o.Ingredients, InitFolder, null));
            global::TorchSharp.torch.manual_seed(unchecked((long)o.SplitSeed));
            using var model = spec.Create();
            LinearProbe.Fit(model, spec, splits.Train, o.LinearProbeSteps, batchSize: 64, seed: o.SplitSeed,
                progress: p => progress(new SweepProgress(-1, o.Ingredients, InitFolder, p)), cancel: cancel);
            ModuleFolder.Save(model, spec, folder, new Dictionary<string, string> { [FineTuneSweep.InitFileName] = description }, overwrite: true);
            units.Record(InitFolder, fingerprint);
            progress(new SweepProgress(-1, o.Ingredients, InitFolder, null, Done: true));
        }
        else progress(new SweepProgress(-1, o.Ingredients, InitFolder, null, Skipped: true, Done: true));
        using var opened = Checkpoint.Open(folder);
        return InMemoryCheckpoint.CopyOf(opened);
    }

    static TextSeedResult RunSeed(TextDemoOptions o, int seed, ModelSpec spec, TextSplits splits, ShiftEvaluationSets sets, InMemoryCheckpoint start,
        ShiftEvaluator evaluator, Action<DemoProgress>? progress, Action<string, string> say, CancellationToken cancel)
    {
        var dir = Path.Combine(o.Out, $"seed-{seed}");
        var runs = Sweep(o, seed);
        var clock = Stopwatch.StartNew();

        var names = runs.Select(r => r.Name).ToArray();
        using var cache = new DemoEvaluationCache(Path.Combine(dir, WorkFolder, CacheFileName), string.Join(" | ",
            "text-v1", spec.Describe(), sets.Description, o.HeldOutOnly ? "held-out only" : "all sets", $"learned {o.LearnedSoupEpochs}x{o.LearnedSoupEmails}/{o.LearnedSoupBatchSize}",
            string.Join(",", runs.Select(r => r.Name + ":" + r.Hyperparameters.Describe()))));
        if (cache.Discarded) say("evaluate", "the evaluation cache was made with other settings; evaluating again");

        // Evaluates (or replays) a model: its logits on every set.
        IReadOnlyDictionary<string, float[]> Logits(string key, IReadOnlyList<string> members, Func<ICheckpoint> make)
        {
            if (cache.TryGet(key, members, out var cached)) return cached;
            var scores = evaluator.Evaluate(make(), heldOutOnly: o.HeldOutOnly, cancel: cancel);
            var logits = scores.Results!.ToDictionary(r => r.Set, r => r.Result.Logits!, StringComparer.Ordinal);
            cache.Put(key, members, logits);
            return logits;
        }

        // ---- ingredients: trained, then evaluated once on every set (that evaluation is the run's held-out figure) ----
        // Resumed as the sweep is (FineTuneSweep): a run is finished when its ingredient.json carries the fingerprint of
        // everything that determined it, and is then recorded in seed-N/work/units.jsonl.
        using var units = UnitJournal.Open(Path.Combine(dir, WorkFolder, UnitJournal.FileName), "text-demo-ingredients");
        var common = new Dictionary<string, string>
        {
            ["start"] = UnitFingerprint.DigestOfContent(Path.Combine(o.Out, InitFolder)),
            ["train_data"] = splits.Train.ContentDigest(),
            ["heldout_data"] = splits.HeldOut.ContentDigest(),
            ["freeze_embeddings"] = o.FreezeEmbeddings ? "true" : "false",
        };
        var records = new List<IngredientRecord>();
        for (int i = 0; i < runs.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var run = runs[i];
            var folder = Path.Combine(dir, IngredientsFolder, run.Name);
            string label = $"seed-{seed}/{run.Name}";
            var fingerprint = new UnitFingerprint(common.Append(KeyValuePair.Create("hyperparameters", JsonSerializer.Serialize(run.Hyperparameters))));
            if (IngredientRecord.TryRead(folder) is { } done
                && (done.Hyperparameters == run.Hyperparameters
                    ? units.Decide(run.Name, fingerprint, done.Fingerprint ?? fingerprint.Digest, folder)   // before fingerprints: the hyperparameters decided
                    : throw new ModelSoupsException($"this run was trained with other hyperparameters ({done.Hyperparameters.Describe()}, now {run.Hyperparameters.Describe()}); use another output folder", folder)))
            {
                progress?.Invoke(new DemoProgress("fine_tune", null, new SweepProgress(i, runs.Count, label, null, done, Skipped: true, Done: true)));
                records.Add(done);
                continue;
            }
            progress?.Invoke(new DemoProgress("fine_tune", null, new SweepProgress(i, runs.Count, label, null)));
            using var model = spec.Create();
            ModuleState.Load(model, start);
            if (o.FreezeEmbeddings && model is BertClassifier bert) bert.FreezeEmbeddings();
            var result = FineTune.Run(model, spec, splits.Train, heldOut: null, run.Hyperparameters, logEvery: 10,
                p => progress?.Invoke(new DemoProgress("fine_tune", null, new SweepProgress(i, runs.Count, label, p))), cancel);
            ModuleFolder.Save(model, spec, folder, overwrite: true);
            var evaluated = evaluator.Evaluate(ModuleState.ToCheckpoint(model, folder), heldOutOnly: o.HeldOutOnly, cancel: cancel);
            cache.Put(DemoRow.IngredientPrefix + run.Name, [run.Name], evaluated.Results!.ToDictionary(r => r.Set, r => r.Result.Logits!, StringComparer.Ordinal));
            var heldOut = evaluated.Results!.First(r => r.Set == "heldout").Result;
            var record = IngredientRecord.From(run.Name, run.Hyperparameters, result) with { HeldOut = heldOut.Score, HeldOutLoss = heldOut.Metrics["loss"], Fingerprint = fingerprint.Digest };
            record.Write(folder); // last: the run's result file
            units.Record(run.Name, fingerprint); // after its outputs are in place
            progress?.Invoke(new DemoProgress("fine_tune", null, new SweepProgress(i, runs.Count, label, null, record, Done: true)));
            records.Add(record);
        }
        var trainSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();

        var opened = new List<ICheckpoint>();
        try
        {
            foreach (var r in runs) opened.Add(Checkpoint.Open(Path.Combine(dir, IngredientsFolder, r.Name)));

            // ---- every ingredient and the start on every set ----
            var ingredientLogits = new IReadOnlyDictionary<string, float[]>[names.Length];
            for (int i = 0; i < names.Length; i++)
            {
                cancel.ThrowIfCancellationRequested();
                ingredientLogits[i] = Logits(DemoRow.IngredientPrefix + names[i], [names[i]], () => opened[i]);
                say("evaluate", $"seed {seed} {names[i]}: {Line(Scores(ingredientLogits[i], sets))}");
            }
            var startLogits = Logits(DemoResults.LinearProbe, [], () => start);

            // ingredient.json's held-out figure is the table's (one measurement); they differ only if the cache was redone
            // on a machine whose kernels round differently.
            for (int i = 0; i < names.Length; i++)
            {
                double table = Accuracy(ingredientLogits[i]["heldout"], sets.HeldOut.Labels);
                if (Math.Abs(table - records[i].HeldOut) > 1e-12)
                    say("evaluate", string.Create(CultureInfo.InvariantCulture, $"note: {names[i]} held-out {records[i].HeldOut:P2} in ingredient.json, {table:P2} now"));
            }

            var candidates = opened.Select((c, i) => Candidate.FromCheckpoint(names[i], c)).ToList();
            var soupsDir = Path.Combine(dir, SoupsFolder);

            // ---- uniform soup ----
            var uniform = Logits(DemoResults.UniformSoup, names, () => Saved(InMemorySoupBuilder.Uniform(candidates), "uniform", names));

            // ---- greedy soup (≥, Recipe 1) on held-out ----
            var (greedy, greedySoup) = DemoGreedySoup.Run(candidates, ingredientLogits.Select(l => Accuracy(l["heldout"], sets.HeldOut.Labels)).ToList(),
                evaluator.HeldOutEvaluator(recalibrate: false), cache, InMemoryCheckpoint.CopyOf, line => say("greedy_soup", $"seed {seed} {line}"), cancel);
            var greedyLogits = greedy.Members.Count == 1
                ? ingredientLogits[greedy.Members[0]]
                : Logits(DemoResults.GreedySoup, greedy.MemberNames, () => Saved(greedySoup!, "greedy", greedy.MemberNames));

            // ---- learned soup ----
            IReadOnlyDictionary<string, float[]>? learned = null;
            if (o.LearnedSoupEpochs > 0 && !o.HeldOutOnly)
            {
                learned = Logits(DemoResults.LearnedSoup, names, () =>
                {
                    var fitOn = o.LearnedSoupEmails is { } m ? sets.HeldOut.Sample(m, o.SplitSeed) : sets.HeldOut;
                    var result = LearnedSoup.Run(spec, names.Zip(opened, (a, b) => (a, b)).ToList(), fitOn,
                        new LearnedSoupOptions { Epochs = o.LearnedSoupEpochs, BatchSize = o.LearnedSoupBatchSize, Seed = (ulong)seed },
                        (epoch, step, loss) => say("learned_soup", string.Create(CultureInfo.InvariantCulture, $"seed {seed} epoch {epoch} step {step} loss {loss:0.0000}")), cancel);
                    say("learned_soup", "α: " + string.Join(", ", result.Ingredients.Zip(result.Alpha[0], (a, w) => string.Create(CultureInfo.InvariantCulture, $"{a} {w:0.000}"))));
                    AtomicFile.WriteAllText(Path.Combine(dir, WorkFolder, "learned.json"), result.ToJson());
                    return Saved(result.Soup, "learned", names);
                });
            }

            // ---- ensemble: mean logits ----
            var ensemble = ingredientLogits[0].Keys.ToDictionary(set => set, set =>
            {
                var sum = new float[ingredientLogits[0][set].Length];
                foreach (var l in ingredientLogits) for (int j = 0; j < sum.Length; j++) sum[j] += l[set][j];
                for (int j = 0; j < sum.Length; j++) sum[j] /= names.Length;
                return sum;
            }, StringComparer.Ordinal);

            // ---- table ----
            var heldOutScores = ingredientLogits.Select(l => Accuracy(l["heldout"], sets.HeldOut.Labels)).ToArray();
            int best = Enumerable.Range(0, names.Length).MaxBy(i => heldOutScores[i]); // first of equals: sweep order
            DemoRow Row(string method, IReadOnlyDictionary<string, float[]> logits, IReadOnlyList<string> members, double cost, string note)
            {
                var s = Scores(logits, sets);
                return new DemoRow(method, s.HeldOut, s.Test, s.Ood, members, cost, s.Shifts, note);
            }
            var rows = new List<DemoRow>
            {
                Row(DemoResults.BestIndividual, ingredientLogits[best], [names[best]], 1, "chosen by held-out accuracy"),
                Row(DemoResults.UniformSoup, uniform, names, 1, $"mean of all {names.Length}"),
                Row(DemoResults.GreedySoup, greedyLogits, greedy.MemberNames, 1, greedy.Members.Count == 1 ? "only the best ingredient was kept" : $"{greedy.Members.Count} of {names.Length} kept (≥ rule)"),
            };
            if (learned is not null) rows.Add(Row(DemoResults.LearnedSoup, learned, names, 1, "mixing weights fitted on held-out data"));
            rows.Add(Row(DemoResults.Ensemble, ensemble, names, names.Length, "mean of the ingredients' logits"));
            rows.Add(Row(DemoResults.LinearProbe, startLogits, [], 1, "the common start (pre-trained + linear-probed head), not an ingredient"));
            for (int i = 0; i < names.Length; i++)
                rows.Add(Row(DemoRow.IngredientPrefix + names[i], ingredientLogits[i], [names[i]], 1, records[i].Hyperparameters.Describe()));

            var paired = new List<PairedComparison>();
            foreach (var (set, labels) in o.HeldOutOnly ? [] : new[] { ("test", sets.Test.Labels), (ShiftName, sets.Shifts[0].Data.Labels) })
            {
                var g = Correct(greedyLogits[set], labels);
                var b = Correct(ingredientLogits[best][set], labels);
                var (aOnly, bOnly) = McNemarTest.Discordant(g, b);
                paired.Add(new PairedComparison(set == ShiftName ? "shift" : set, DemoResults.GreedySoup, DemoResults.BestIndividual,
                    Accuracy(greedyLogits[set], labels), Accuracy(ingredientLogits[best][set], labels), aOnly, bOnly, McNemarTest.PValue(aOnly, bOnly)));
            }

            var results = new DemoResults
            {
                Rows = rows,
                Seconds = [KeyValuePair.Create("fine_tune", trainSeconds), KeyValuePair.Create("evaluate_and_soups", clock.Elapsed.TotalSeconds)],
                ShiftDescriptions = [KeyValuePair.Create(ShiftName, "the later SpamAssassin groups (easy-ham-2, spam-2), collected months after the training groups")],
                Settings = new Dictionary<string, string>(Settings(o, splits)) { ["sweep_seed"] = seed.ToString(CultureInfo.InvariantCulture) },
            };
            AtomicFile.WriteAllText(Path.Combine(dir, DemoResults.FileName), results.ToJson());
            return new TextSeedResult(seed, results, paired);

            ICheckpoint Saved(ICheckpoint soup, string name, IReadOnlyList<string> members)
            {
                ModuleFolder.Save(soup, spec, Path.Combine(soupsDir, name), new Dictionary<string, string> { ["members.json"] = JsonSerializer.Serialize(members) }, overwrite: true);
                return soup;
            }
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }

    static bool[] Correct(float[] logits, byte[] labels)
    {
        int classes = logits.Length / labels.Length;
        var correct = new bool[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            int arg = 0;
            for (int c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + arg]) arg = c;
            correct[i] = arg == labels[i];
        }
        return correct;
    }

    static double Accuracy(float[] logits, byte[] labels) => (double)Correct(logits, labels).Count(x => x) / labels.Length;

    // Sets that were not evaluated (a held-out-only probe) score NaN ("—" in the tables).
    static ShiftScores Scores(IReadOnlyDictionary<string, float[]> logits, ShiftEvaluationSets sets) =>
        new(Accuracy(logits["heldout"], sets.HeldOut.Labels), logits.TryGetValue("test", out var t) ? Accuracy(t, sets.Test.Labels) : double.NaN,
            logits.ContainsKey(sets.Shifts[0].Name)
                ? sets.Shifts.ToDictionary(s => s.Name, s => Accuracy(logits[s.Name], s.Data.Labels), StringComparer.Ordinal)
                : new Dictionary<string, double>(StringComparer.Ordinal) { [sets.Shifts[0].Name] = double.NaN });

    static string Line(ShiftScores s) => string.Create(CultureInfo.InvariantCulture, $"held-out {s.HeldOut:P2}, test {s.Test:P2}, shift {s.Ood:P2}");

    static void Validate(TextDemoOptions o)
    {
        if (o.Seeds < 1 || o.Ingredients < 1) throw new ModelSoupsException("the demo needs at least one sweep seed and one ingredient");
        if (o.Epochs.Count == 0 || o.Epochs.Any(e => e < 1)) throw new ModelSoupsException("epochs must be at least 1");
        if (o.Tokens is < 4 or > 512) throw new ModelSoupsException("tokens must be 4..512");
        if (o.LearningRate.Min <= 0 || o.LearningRate.Max < o.LearningRate.Min) throw new ModelSoupsException("the learning-rate range must be positive and ordered");
    }

    static Dictionary<string, string> Settings(TextDemoOptions o, TextSplits splits)
    {
        static string I(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "all";
        return new Dictionary<string, string>
        {
            ["preset"] = o.Preset + (o.HeldOutOnly ? " (held-out-only probe)" : ""),
            ["data"] = splits.Description,
            ["model"] = $"{ModelSpec.MiniLm}: all-MiniLM-L6-v2 ({MiniLmPackage.PackageId} {MiniLmPackage.Version}), mean pooling + linear head",
            ["seeds"] = o.Seeds.ToString(CultureInfo.InvariantCulture),
            ["ingredients"] = o.Ingredients.ToString(CultureInfo.InvariantCulture),
            ["train_emails"] = splits.Train.Count.ToString(CultureInfo.InvariantCulture),
            ["tokens"] = o.Tokens.ToString(CultureInfo.InvariantCulture),
            ["epochs_cycle"] = string.Join(",", o.Epochs),
            ["batch_size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["lr_range"] = string.Create(CultureInfo.InvariantCulture, $"{o.LearningRate.Min:G3}..{o.LearningRate.Max:G3} (log-uniform, AdamW, 10 % warm-up, cosine)"),
            ["weight_decay"] = string.Join(",", o.WeightDecays.Select(x => x.ToString(CultureInfo.InvariantCulture))),
            ["label_smoothing"] = string.Join(",", o.LabelSmoothings.Select(x => x.ToString(CultureInfo.InvariantCulture))),
            ["linear_probe_steps"] = o.LinearProbeSteps.ToString(CultureInfo.InvariantCulture),
            ["embeddings"] = o.FreezeEmbeddings ? "frozen during fine-tuning" : "fine-tuned",
            ["learned_soup"] = o.LearnedSoupEpochs == 0 ? "off" : string.Create(CultureInfo.InvariantCulture,
                $"{o.LearnedSoupEpochs} epoch(s) on {I(o.LearnedSoupEmails)} held-out emails, batch {o.LearnedSoupBatchSize}"),
            ["intervals"] = "95 % Wilson score intervals; paired test: McNemar exact (greedy soup vs best individual)",
            ["threads"] = o.Threads?.ToString(CultureInfo.InvariantCulture) ?? $"all ({Environment.ProcessorCount})",
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["machine"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["created"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
        };
    }
}
