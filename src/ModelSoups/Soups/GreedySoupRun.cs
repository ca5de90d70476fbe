using System.Diagnostics;
using System.Globalization;
using ModelSoups.Checkpoints;
using ModelSoups.Durability;
using ModelSoups.Engine;
using ModelSoups.Evaluation;
using ModelSoups.Recipes;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>What a greedy run produced.</summary>
/// <param name="Results">Scores, trajectory, baselines (also written as results.json into the output).</param>
/// <param name="OutputFolder">The published soup.</param>
/// <param name="Merge">The final merge's summary.</param>
/// <param name="Evaluated">Evaluations run by this invocation.</param>
/// <param name="Replayed">Evaluations replayed from the journal.</param>
public sealed record GreedyRunOutcome(SoupResults Results, string OutputFolder, MergeSummary Merge, int Evaluated, int Replayed);

/// <summary>
/// <c>soup greedy</c> end to end: opens the ingredients, evaluates each (journaled in the work folder so a
/// rerun of the same command continues where it stopped), runs <see cref="GreedySoup"/> over a
/// <see cref="StreamingSoupBuilder"/>, evaluates the asked-for baselines, then writes the final soup as
/// <c>soup merge --method linear</c> of the members in join order would (same engine, config files,
/// provenance with every score), adds results.json and renames the finished folder into place: the output is either
/// absent or complete. Reports are rendered from <see cref="GreedyRunOutcome.Results"/> by the caller (the
/// <c>ModelSoups.Reports</c> project; <c>soup report</c> renders them again from results.json).
/// </summary>
public static class GreedySoupRun
{
    /// <summary>Journal key of the uniform soup of every ingredient.</summary>
    public const string UniformKey = "uniform:all";

    /// <summary>Journal key of the logit ensemble of every ingredient that evaluated.</summary>
    public const string EnsembleKey = "ensemble:all";

    /// <summary>Runs it; user errors are <see cref="ModelSoupsException"/> and leave the output untouched.</summary>
    public static GreedyRunOutcome Run(GreedyRunSettings settings, IEvaluator localEvaluator, CancellationToken cancel = default)
    {
        var evaluator = localEvaluator;
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(evaluator);
        if (settings.Models.Count == 0) throw new ModelSoupsException("give at least one ingredient with --models.");
        if (string.IsNullOrWhiteSpace(settings.Output)) throw new ModelSoupsException("the output path is empty; give a folder with --out.");
        var output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(settings.Output));
        if (File.Exists(output)) throw new ModelSoupsException("the output path is a file, not a folder.", output);
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new ModelSoupsException("the output folder already exists and is not empty; choose another.", output);
        var work = Path.GetFullPath(settings.WorkFolder ?? output + ".work");
        if (settings.Threads < 1) throw new ModelSoupsException("the thread count must be at least 1.");

        // One run per work folder: a second one would interleave the journal and share the scratch files.
        Directory.CreateDirectory(work);
        using var workLock = OutputLock.AcquireFile(Path.Combine(work, "lock"), work);
        var remote = settings.Remote is { } r0 ? new Execution.ExecutorEvaluator(r0, evaluator, work) : null;
        if (remote is not null) evaluator = remote;
        // Holding the lock, anything scratch in the work folder was left by a run that was killed: remove it.
        foreach (var f in Directory.EnumerateFiles(work, "soup-sum-*.f64")) File.Delete(f);
        foreach (var d in Directory.EnumerateDirectories(work, "candidate-*")) Directory.Delete(d, recursive: true);
        var opened = new List<ICheckpoint>();
        try
        {
            var paths = settings.Models.Select(Path.GetFullPath).ToArray();
            foreach (var p in settings.Models) opened.Add(Checkpoint.Open(p, settings.Open));
            var ingredients = opened.ToArray();
            ICheckpoint? baseCkpt = settings.Base is null ? null : Checkpoint.Open(settings.Base, settings.Open);
            if (baseCkpt is not null) opened.Add(baseCkpt);
            var names = UniqueNames(settings.Models);

            var stamps = ingredients.Select((c, i) => IngredientStamp.FromCheckpoint(names[i], c)).ToList();
            var fingerprint = JournalFingerprint.Create("greedy", stamps, evaluator.Description,
                $"accept {settings.Rule}; base {(settings.Base is null ? "none" : Path.GetFullPath(settings.Base))}; out_dtype {settings.OutDType?.SafetensorsName() ?? "as inputs"}");
            using var journal = GreedyJournal.Open(work, fingerprint);

            var builderOptions = new StreamingSoupOptions
            {
                ScratchFolder = work,
                MemoryBudgetBytes = settings.MemoryBudgetBytes,
                Base = baseCkpt,
                OutDType = settings.OutDType,
                ConfigSource = settings.Base is not null && Directory.Exists(settings.Base) ? Path.GetFullPath(settings.Base) : null,
            };

            var tracker = new ProgressTracker(settings, ingredients.Length);
            bool ensembleWanted = settings.AlsoEnsemble && evaluator.ProvidesLogits;
            var logits = new EnsembleLogits();
            var greedyOptions = new GreedyOptions
            {
                Rule = settings.Rule,
                SkipFailedEvaluations = settings.SkipFailedEvaluations,
                OnEvaluated = (key, label, result, replayed) =>
                {
                    if (ensembleWanted && !replayed && key.Kind == EvaluationKind.Ingredient)
                        logits.Add(key.IngredientIndex, result, label);
                    tracker.Evaluated(key.Kind, label, result.Score, replayed, null);
                },
                OnSkipped = (key, label, e) => tracker.Evaluated(key.Kind, label, null, false, e.UserMessage),
            };

            // The one check that the ingredients line up (names, shapes, dtypes of copied tensors): before any
            // evaluation, and used by every builder of the run and by the final write.
            var lineup = IngredientLineup.Check(ingredients, names);
            GreedyResult result;
            int batched = remote is null ? 0 : EvaluateIngredientsAtOnce(remote, settings, ingredients, names, journal, cancel);
            using (var builder = new StreamingSoupBuilder(lineup, builderOptions))
            {
                try
                {
                    result = GreedySoup.Run(builder, evaluator, greedyOptions, journal, cancel);
                }
                catch (EvaluationException) when (remote is { Failures.Count: > 0 } && !settings.SkipFailedEvaluations)
                {
                    throw new Execution.WorkFailedException(remote.Failures);
                }
            }

            var baselines = new List<Baseline>();
            if (settings.AlsoUniform)
            {
                var r = Cached(journal, UniformKey, out var hit) ?? EvaluateUniform(lineup, builderOptions, evaluator, settings, cancel);
                if (r is not null && !hit) journal.Add(UniformKey, r);
                tracker.Evaluated(EvaluationKind.Baseline, "uniform soup", r?.Score, hit, r is null ? "failed" : null);
                baselines.Add(new Baseline("Uniform soup", r?.Score, r?.Metrics ?? new Dictionary<string, double>(), $"all {ingredients.Length} ingredients"));
            }
            if (settings.AlsoEnsemble)
            {
                if (!evaluator.ProvidesLogits)
                    baselines.Add(new Baseline("Ensemble", null, new Dictionary<string, double>(), "not available: the evaluator returns no logits"));
                else
                {
                    var r = Cached(journal, EnsembleKey, out var hit);
                    if (r is null)
                    {
                        // Logits are not journaled: ingredients replayed from the journal are run again for theirs.
                        foreach (var ing in result.Ingredients.Where(i => i.Error is null && !logits.Has(i.Index)))
                        {
                            cancel.ThrowIfCancellationRequested();
                            logits.Add(ing.Index, evaluator.Evaluate(Candidate.FromCheckpoint(names[ing.Index], ingredients[ing.Index]), cancel), names[ing.Index]);
                        }
                        r = logits.Evaluate();
                        journal.Add(EnsembleKey, r);
                    }
                    tracker.Evaluated(EvaluationKind.Baseline, "logit ensemble", r.Score, hit, null);
                    baselines.Add(new Baseline("Ensemble (mean logits)", r.Score, r.Metrics, $"{logits.Count} ingredients, {ingredients.Length}× inference"));
                }
            }

            var provenance = new Dictionary<string, string>(settings.Provenance ?? new Dictionary<string, string>(), StringComparer.Ordinal)
            {
                ["tool"] = "ModelSoups " + (typeof(GreedySoupRun).Assembly.GetName().Version?.ToString(3) ?? "0"),
                ["output"] = output,
                ["journal"] = journal.Path,
            };
            if (CreationTime.Text(settings.NoTimestamp) is { } created) provenance["created"] = created;
            if (settings.Base is not null) provenance["base"] = Path.GetFullPath(settings.Base);
            if (settings.OutDType is { } od) provenance["out_dtype"] = od.SafetensorsName();
            var results = SoupResults.From(result, evaluator.Description, paths, baselines, provenance);

            // The final write reads the ingredients (and the base) already open here, not the files again.
            var open = new Dictionary<string, ICheckpoint>(StringComparer.Ordinal);
            for (int i = 0; i < paths.Length; i++) open.TryAdd(paths[i], ingredients[i]);
            if (baseCkpt is not null) open.TryAdd(Path.GetFullPath(settings.Base!), baseCkpt);
            var (summary, staged) = WriteSoup(settings, result, paths, names, results, work, open, lineup, cancel);
            Publish(staged, output);
            return new GreedyRunOutcome(results, output, summary with { OutputFolder = output }, tracker.Fresh + batched, tracker.Replayed - batched);
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }

    /// <summary>
    /// The ingredient evaluations not yet journaled, as one batch of units (one Slurm array: they are independent),
    /// journaled in ingredient order so the journal reads as a local run's; <see cref="GreedySoup"/> then replays
    /// them. Ingredients that are not folders (single files) are left to it, one job each. Failures: the batch
    /// runs to its end, then every failed unit is named (exit 1) — or, with skip, left out as locally.
    /// Returns how many were evaluated here.
    /// </summary>
    private static int EvaluateIngredientsAtOnce(Execution.ExecutorEvaluator remote, GreedyRunSettings settings, ICheckpoint[] ingredients,
        string[] names, GreedyJournal journal, CancellationToken cancel)
    {
        var todo = Enumerable.Range(0, ingredients.Length)
            .Where(i => !journal.TryGet(GreedySoup.IngredientKey(i).ToString(), out _) && Directory.Exists(ingredients[i].Location)).ToList();
        if (todo.Count == 0) return 0;
        var results = remote.EvaluateAll(todo.Select(i => Candidate.FromFolder(names[i], ingredients[i].Location)).ToList(), "ingredients", cancel);
        int evaluated = 0;
        for (int j = 0; j < todo.Count; j++)
        {
            if (results[j] is not { } r) continue;
            if (!double.IsFinite(r.Score)) throw new EvaluationException(names[todo[j]], $"the evaluator returned a score that is not a finite number for candidate '{names[todo[j]]}'.");
            journal.Add(GreedySoup.IngredientKey(todo[j]).ToString(), r);
            evaluated++;
        }
        if (remote.Failures.Count > 0 && !settings.SkipFailedEvaluations) throw new Execution.WorkFailedException(remote.Failures);
        return evaluated;
    }

    private static EvaluationResult? Cached(GreedyJournal journal, string key, out bool hit)
    {
        hit = journal.TryGet(key, out var r);
        return hit ? r : null;
    }

    private static EvaluationResult? EvaluateUniform(IngredientLineup lineup, StreamingSoupOptions options,
        IEvaluator evaluator, GreedyRunSettings settings, CancellationToken cancel)
    {
        using var builder = new StreamingSoupBuilder(lineup, options);
        builder.Start(0);
        for (int i = 1; i < lineup.Ingredients.Count; i++) builder.Accept(i);
        try
        {
            return evaluator.Evaluate(builder.CurrentSoup(evaluator.NeedsFolder), cancel);
        }
        catch (EvaluationException) when (settings.SkipFailedEvaluations)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs the engine: linear over the members in join order, into a staging folder in the work folder, from the
    /// ingredients already open and already checked (<paramref name="lineup"/>: the plan does not compare them again).
    /// </summary>
    private static (MergeSummary, string) WriteSoup(GreedyRunSettings settings, GreedyResult result, string[] paths, string[] names,
        SoupResults results, string work, IReadOnlyDictionary<string, ICheckpoint> open, IngredientLineup lineup, CancellationToken cancel)
    {
        var recipe = new Recipe
        {
            MergeMethod = "linear",
            BaseModel = settings.Base is null ? null : new RecipeModel(Path.GetFullPath(settings.Base), settings.Base, new Dictionary<string, RecipeValue>()),
            Models = result.Members.Select(i => new RecipeModel(paths[i], settings.Models[i], new Dictionary<string, RecipeValue>())).ToList(),
            OutDType = settings.OutDType,
        };
        var greedy = new Dictionary<string, object>
        {
            ["accept"] = results.Accept,
            ["evaluator"] = results.Evaluator,
            ["greedy_score"] = result.SoupScore,
            ["members"] = result.Members.Select(i => names[i]).ToList(),
            ["ingredients"] = result.Ingredients.Select(i => (object)new Dictionary<string, object>
            {
                ["name"] = i.Name,
                ["score"] = i.Error is null ? i.Score : "failed",
            }).ToList(),
            ["trajectory"] = result.Trajectory.Select(s => (object)new Dictionary<string, object>
            {
                ["step"] = s.Step,
                ["tried"] = s.Name,
                ["candidate_score"] = s.Error is null ? s.CandidateScore : "failed",
                ["accepted"] = s.Accepted,
                ["soup_score"] = s.SoupScore,
            }).ToList(),
            ["baselines"] = results.Baselines.Select(b => (object)new Dictionary<string, object>
            {
                ["name"] = b.Name,
                ["score"] = b.Score is { } v ? v : "not available",
            }).ToList(),
        };
        var staged = Path.Combine(work, "soup");
        if (Directory.Exists(staged)) Directory.Delete(staged, recursive: true);
        var options = new MergeOptions
        {
            Threads = settings.Threads,
            MemoryBudgetBytes = settings.MemoryBudgetBytes,
            Progress = settings.MergeProgress,
            Open = settings.Open,
            OpenedInputs = open,
            LinedUp = lineup,
            Provenance = new Dictionary<string, object> { ["greedy_soup"] = greedy },
            NoTimestamp = settings.NoTimestamp,
            AllowNonFinite = settings.AllowNonFinite,
        };
        var summary = MergeEngine.Run(recipe, staged, options, cancel);
        AtomicFile.WriteDurably(Path.Combine(staged, SoupResults.FileName), System.Text.Encoding.UTF8.GetBytes(results.ToJson()));
        return (summary, staged);
    }

    private static void Publish(string staged, string output)
    {
        if (Directory.Exists(output))
        {
            if (Directory.EnumerateFileSystemEntries(output).Any())
                throw new ModelSoupsException("the output folder was filled by something else while the soup was being made; the soup is left in the work folder.", output);
        }
        AtomicFolder.Publish(staged, output);
    }

    /// <summary>Names for messages and journals: the paths as given, made unique.</summary>
    private static string[] UniqueNames(IReadOnlyList<string> models)
    {
        var names = new string[models.Count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < models.Count; i++)
        {
            var n = Path.TrimEndingDirectorySeparator(models[i]);
            names[i] = seen.TryGetValue(n, out var c) ? $"{n}#{c + 1}" : n;
            seen[n] = c + 1;
        }
        return names;
    }

    /// <summary>Counts evaluations, keeps the best score to compare with, estimates the time left.</summary>
    private sealed class ProgressTracker(GreedyRunSettings settings, int k)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly int _total = k + Math.Max(0, k - 1) + (settings.AlsoUniform ? 1 : 0) + (settings.AlsoEnsemble ? 1 : 0);
        private TimeSpan _freshTime;
        private double? _bestIngredient;
        private double? _soup;
        private int _done;

        public int Fresh { get; private set; }
        public int Replayed { get; private set; }

        public void Evaluated(EvaluationKind kind, string label, double? score, bool replayed, string? error)
        {
            var elapsed = _clock.Elapsed;
            _clock.Restart();
            _done++;
            if (replayed) Replayed++;
            else { Fresh++; _freshTime += elapsed; }
            double? best;
            if (kind == EvaluationKind.Ingredient)
            {
                if (score is { } s && (_bestIngredient is null || s > _bestIngredient)) _bestIngredient = s;
                best = _bestIngredient;
            }
            else if (kind == EvaluationKind.Soup)
            {
                _soup ??= _bestIngredient;
                best = _soup;
                if (score is { } s && _soup is { } cur && (settings.Rule == AcceptRule.Greater ? s > cur : s >= cur)) _soup = s;
            }
            else best = _soup ?? _bestIngredient;
            TimeSpan? eta = Fresh > 0 ? _freshTime / Fresh * Math.Max(0, _total - _done) : null;
            settings.Progress?.Invoke(new GreedyProgress(label, score, best, replayed, Math.Min(_done, _total), _total, eta, error));
        }
    }
}
