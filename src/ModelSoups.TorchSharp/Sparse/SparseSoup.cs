using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Durability;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using ModelSoups.TorchSharp.Soups;
using ModelSoups.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// Sparse Model Soups (Zimmer, Spiegel, Pokutta, ICLR 2024; code ZIB-IOL/SMS), top to bottom. For each of T phases:
/// prune the current model by magnitude to 1 − (1 − q)^p (<see cref="PruneSchedule"/>); retrain m copies, each with
/// one hyperparameter changed (<see cref="SparseVariation"/>), with the mask fixed; average them (uniform soup) and
/// build a greedy soup; recalibrate the soups' BatchNorm statistics; go on from the chosen soup. All ingredients
/// share the mask by construction, so the soup is exactly as sparse (checked after every phase). Beside it runs the
/// baseline, iterative magnitude pruning (IMP): the same phases, one retrain per phase, by default as long as all m
/// ingredients' retrains together (the same total compute; <see cref="ImpBudget"/>).
/// Writes <c>OUT/phase-P/{ingredient-I, soup-uniform, soup-greedy, imp}/</c> (weights with the mask implicit in the
/// zeros, <c>mask.safetensors</c>, <c>soup-model.json</c>, <c>sparse.json</c>) and <c>results.json</c>; the report is rendered from the result by
/// <c>ModelSoups.Reports.SparseReport</c> (the library has no report code).
/// <para>Resumable by phase: a phase's last write is <c>phase-P/phase.json</c> (<see cref="SparsePhaseRecord"/>), and
/// <c>OUT/work/units.jsonl</c> (<see cref="UnitJournal"/>) records it; a rerun reuses every phase finished with the same
/// settings (loading its chosen soup, IMP model and masks) and makes the first unfinished one and all after it. A
/// phase finished with other settings is refused, naming them, unless <see cref="SparseSoupOptions.Resume"/> says to make it again.</para>
/// </summary>
public static class SparseSoup
{
    /// <summary>Description of a saved model, inside its folder.</summary>
    public const string InfoFileName = "sparse.json";
    /// <summary>Folder names inside a phase folder.</summary>
    public const string UniformFolder = "soup-uniform", GreedyFolder = "soup-greedy", ImpFolder = "imp";
    /// <summary>The work folder inside the output (the journal of finished phases, <c>units.jsonl</c>).</summary>
    public const string WorkFolder = "work";

    /// <summary>Runs the experiment; writes and returns the results.</summary>
    public static SparseSoupResult Run(SparseSoupOptions o, Action<SparseProgress>? progress = null, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        PruneSchedule.PhaseFraction(o.Sparsity, o.Phases);   // validates S and T
        if (o.RecalibrationBatches < 0) throw new ModelSoupsException("the BatchNorm recalibration batches must not be negative");
        if (o.EvaluationLimit is < 1) throw new ModelSoupsException("the evaluation limit must be at least 1");
        var spec = ModelSpec.Read(o.Base);
        var train = o.Data.Train;
        if (spec.Classes != train.Classes || spec.Channels != train.Channels)
            throw new ModelSoupsException($"the model ({spec.Describe()}) does not fit the data ({train.Classes} classes, {train.Channels} channel(s))", o.Base);
        var retrain = o.Retrain with { Steps = o.Retrain.Steps ?? o.Retrain.Epochs * DataOrder.StepsPerEpoch(train.Count, Math.Min(o.Retrain.BatchSize, train.Count)) };
        var runs = SparseVariation.Runs(retrain, o.Vary, o.Ingredients, o.Values);
        TorchRuntime.UseAllCores();
        Directory.CreateDirectory(o.Out);

        var heldOut = o.EvaluationLimit is { } limit ? o.Data.HeldOut.Sample(limit, DatasetSplits.DefaultSplitSeed) : o.Data.HeldOut;
        using var ownScorer = o.Scorer is null ? ShiftSparseScorer.ForDemo(o.Data, o.EvaluationLimit, o.BatchSize) : null;
        var scorer = o.Scorer ?? ownScorer!;
        // The greedy soup chooses on held-out accuracy after recalibrating each candidate's BatchNorm statistics.
        using var chooser = new TorchEvaluator(spec, heldOut, "held-out", o.RecalibrationBatches > 0 ? train : null, o.RecalibrationBatches, o.BatchSize);

        InMemoryCheckpoint start;
        using (var opened = Checkpoint.Open(o.Base)) start = InMemoryCheckpoint.CopyOf(opened);
        using var current = spec.Create();
        using var imp = spec.Create();
        ModuleState.Load(current, start);
        ModuleState.Load(imp, start);
        SparsityMask? mask = null, impMask = null;
        var phases = new List<SparsePhaseResult>();
        // Resume: each phase is a unit (OUT/work/units.jsonl) whose result file is phase-P/phase.json.
        using var units = UnitJournal.Open(Path.Combine(o.Out, WorkFolder, UnitJournal.FileName), "sparse");
        var common = CommonSettings(o, scorer, retrain, heldOut);
        string previous = "none";
        try
        {
            for (int p = 1; p <= o.Phases; p++)
            {
                double target = PruneSchedule.SparsityAfter(o.Sparsity, o.Phases, p);
                string phaseName = $"phase-{p}", phaseDir = Path.Combine(o.Out, phaseName);
                string chosenDir = Path.Combine(phaseDir, o.Merge == SparseSoupMerge.Uniform ? UniformFolder : GreedyFolder);
                var rows = new List<SparseRow>();
                void Report(string stage, string? name = null, TrainingProgress? step = null, SparseRow? row = null, string? message = null) =>
                    progress?.Invoke(new SparseProgress(p, o.Phases, stage, name, step, row, message));

                // ---- a phase finished earlier with these settings is reused ------------------------------
                // Its fingerprint chains the previous phase's, so a changed earlier phase makes every later one again.
                var fingerprint = new UnitFingerprint(common.Append(KeyValuePair.Create("phase", p.ToString(CultureInfo.InvariantCulture)))
                    .Append(KeyValuePair.Create("previous_phase", previous)));
                previous = fingerprint.Digest;
                cancel.ThrowIfCancellationRequested();
                var record = SparsePhaseRecord.TryRead(phaseDir);
                if (record is not null && (o.Resume == SparseResume.RedoAll || (o.Resume == SparseResume.RedoChanged && record.Fingerprint != fingerprint.Digest)))
                {
                    Report("redo", message: o.Resume == SparseResume.RedoAll ? $"making it again in {phaseDir}" : $"made with other settings before; making it again in {phaseDir}");
                    File.Delete(Path.Combine(phaseDir, SparsePhaseRecord.FileName));
                    record = null;
                }
                if (record is not null && units.Decide(phaseName, fingerprint, record.Fingerprint, phaseDir))
                {
                    if (record.Result.Phase != p)
                        throw new ModelSoupsException($"{SparsePhaseRecord.FileName} describes phase {record.Result.Phase}", phaseDir);
                    Report("resumed", message: $"finished earlier with these settings; reusing {phaseDir}");
                    mask?.Dispose();
                    mask = null;
                    mask = Restore(current, chosenDir);
                    impMask?.Dispose();
                    impMask = null;
                    impMask = Restore(imp, Path.Combine(phaseDir, ImpFolder));
                    CheckCount(mask, target, o.Scope);
                    CheckCount(impMask, target, o.Scope);
                    foreach (var row in record.Result.Rows) Report("scored", row.Method, row: row);
                    phases.Add(record.Result);
                    continue;
                }
                SparseRow Scored(string method, nn.Module module)
                {
                    var row = SparseRow.From(method, scorer.Score(ModuleState.ToCheckpoint(module), spec, cancel));
                    rows.Add(row);
                    Report("scored", method, row: row);
                    return row;
                }

                // ---- prune the soup of the last phase (the base at first) ----------------------------
                Report("prune", message: string.Create(CultureInfo.InvariantCulture, $"pruning to {target:P2}"));
                var next = SparsityMask.Prune(current, target, o.Scope, mask);
                mask?.Dispose();
                mask = next;
                CheckCount(mask, target, o.Scope);
                var pruned = ModuleState.ToCheckpoint(current);

                // ---- m retrained ingredients, mask fixed ----------------------------------------------
                var ingredients = new List<nn.Module<Tensor, Tensor>>();
                var training = new List<TrainingResult>();
                try
                {
                    for (int i = 0; i < runs.Count; i++)
                    {
                        var (name, hp) = runs[i];
                        var model = spec.Create();
                        ingredients.Add(model);
                        ModuleState.Load(model, pruned);
                        Report("retrain", name);
                        var trained = Retrain(model, spec, mask, train, heldOut, hp, o.LogEvery, s => Report("retrain", name, s), cancel);
                        training.Add(trained);
                        Save(model, spec, mask, Path.Combine(phaseDir, $"ingredient-{i}"), Info(p, target, name, hp, trained));
                        Scored(SparseRow.IngredientPrefix + name, model);
                    }

                    // ---- uniform and greedy soups, BatchNorm recalibrated ------------------------------
                    Report("soup", SparseRow.SmsUniform);
                    using var uniform = spec.Create();
                    ModuleSoup.Uniform(uniform, ingredients);
                    FinishSoup(uniform, spec, mask, train, o);
                    Save(uniform, spec, mask, Path.Combine(phaseDir, UniformFolder), Info(p, target, SparseRow.SmsUniform, null, null, runs.Select(r => r.Name)));
                    Scored(SparseRow.SmsUniform, uniform);

                    Report("soup", SparseRow.SmsGreedy);
                    var candidates = ingredients.Select((m, i) => Candidate.FromCheckpoint(runs[i].Name, ModuleState.ToCheckpoint(m))).ToList();
                    GreedyResult greedy;
                    using var greedySoup = spec.Create();
                    using (var builder = new InMemorySoupBuilder(candidates))
                    {
                        greedy = GreedySoup.Run(builder, chooser, new GreedyOptions { Rule = o.Accept }, cancellationToken: cancel);
                        // The soup the greedy search chose, from the builder that chose it (not re-averaged elsewhere).
                        using var greedyState = builder.CurrentSoup();
                        ModuleState.Load(greedySoup, greedyState);
                    }
                    var members = greedy.Members.Select(i => runs[i].Name).ToList();
                    FinishSoup(greedySoup, spec, mask, train, o);
                    Save(greedySoup, spec, mask, Path.Combine(phaseDir, GreedyFolder), Info(p, target, SparseRow.SmsGreedy, null, null, members));
                    Scored(SparseRow.SmsGreedy, greedySoup);

                    // ---- IMP: its own chain, one retrain per phase ------------------------------------------
                    // With the total-compute budget its retrain is as long as all m ingredients' together.
                    var impNext = SparsityMask.Prune(imp, target, o.Scope, impMask);
                    impMask?.Dispose();
                    impMask = impNext;
                    CheckCount(impMask, target, o.Scope);
                    var impRetrain = ImpRetrain(retrain, o.ImpBudget, runs.Count);
                    int same = p == 1 ? runs.ToList().FindIndex(r => r.Hyperparameters == impRetrain) : -1;
                    TrainingResult impTrained;
                    if (same >= 0)
                    {
                        // Phase 1 starts from the same base, mask and hyperparameters as that ingredient: the same run.
                        ModuleState.Load(imp, ModuleState.ToCheckpoint(ingredients[same]));
                        impTrained = training[same];
                    }
                    else
                    {
                        Report("retrain", SparseRow.Imp);
                        impTrained = Retrain(imp, spec, impMask, train, heldOut, impRetrain, o.LogEvery, s => Report("retrain", SparseRow.Imp, s), cancel);
                    }
                    Save(imp, spec, impMask, Path.Combine(phaseDir, ImpFolder), Info(p, target, SparseRow.Imp, impRetrain, impTrained));
                    Scored(SparseRow.Imp, imp);

                    // ---- the chosen soup starts the next phase -------------------------------------------
                    var chosen = o.Merge == SparseSoupMerge.Uniform ? uniform : greedySoup;
                    ModuleState.Load(current, ModuleState.ToCheckpoint(chosen));
                    var (zeros, total) = SparsityMask.CountZeros(current);
                    phases.Add(new SparsePhaseResult
                    {
                        Phase = p,
                        Sparsity = (double)zeros / total,
                        TargetSparsity = target,
                        Pruned = mask.PrunedCount,
                        Prunable = mask.Total,
                        Rows = rows,
                        SoupPath = $"{phaseName}/{(o.Merge == SparseSoupMerge.Uniform ? UniformFolder : GreedyFolder)}",
                        GreedyMembers = members,
                    });
                    // Last, after every model of the phase is in place: the phase's result file, then the journal.
                    new SparsePhaseRecord(fingerprint.Digest, phases[^1]).Write(phaseDir);
                    units.Record(phaseName, fingerprint);
                }
                finally
                {
                    foreach (var m in ingredients) m.Dispose();
                }
            }
        }
        finally
        {
            mask?.Dispose();
            impMask?.Dispose();
        }

        var result = new SparseSoupResult
        {
            TargetSparsity = o.Sparsity,
            Phases = phases,
            Architecture = spec.Describe(),
            Vary = o.Vary,
            Merge = o.Merge == SparseSoupMerge.Uniform ? "uniform" : "greedy",
            ImpBudget = o.ImpBudget == ImpBudget.TotalCompute ? "total_compute" : "retrain_length",
            Pruning = o.Scope == PruningScope.Global ? "global" : "per-layer",
            Retrain = retrain.Describe() + $" schedule {retrain.Schedule} warmup {retrain.Warmup.ToString(CultureInfo.InvariantCulture)}",
            Scorer = scorer.Description,
            Seconds = clock.Elapsed.TotalSeconds,
        };
        AtomicFile.WriteAllText(Path.Combine(o.Out, SparseSoupResult.FileName), result.ToJson());
        return result;
    }

    /// <summary>
    /// Everything but the phase that determines a phase's result: the base's and the data's content, the scorer, every
    /// setting of the run (not <see cref="SparseSoupOptions.LogEvery"/>, which only changes the training curve's resolution).
    /// </summary>
    static List<KeyValuePair<string, string>> CommonSettings(SparseSoupOptions o, ISparseScorer scorer, TrainingHyperparameters retrain, ImageDataset heldOut)
    {
        string I(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "all";
        string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        return
        [
            KeyValuePair.Create("base", UnitFingerprint.DigestOfContent(o.Base)),
            KeyValuePair.Create("data", o.Data.Description),
            KeyValuePair.Create("train_data", o.Data.Train.ContentDigest()),
            KeyValuePair.Create("heldout_data", heldOut.ContentDigest()),
            KeyValuePair.Create("test_data", o.Data.Test?.ContentDigest() ?? "none"),
            KeyValuePair.Create("scorer", scorer.Description),
            KeyValuePair.Create("sparsity", D(o.Sparsity)),
            KeyValuePair.Create("phases", I(o.Phases)),
            // The runs follow from these three (SparseVariation.Runs), and a changed one is named shortly.
            KeyValuePair.Create("retrain", JsonSerializer.Serialize(retrain)),
            KeyValuePair.Create("vary", o.Vary),
            KeyValuePair.Create("values", o.Values is null ? "default" : JsonSerializer.Serialize(o.Values)),
            KeyValuePair.Create("ingredients", I(o.Ingredients)),
            KeyValuePair.Create("imp_budget", o.ImpBudget.ToString()),
            KeyValuePair.Create("pruning", o.Scope.ToString()),
            KeyValuePair.Create("merge", o.Merge.ToString()),
            KeyValuePair.Create("accept", o.Accept.ToString()),
            KeyValuePair.Create("recalibration_batches", I(o.RecalibrationBatches)),
            KeyValuePair.Create("batch_size", I(o.BatchSize)),
            KeyValuePair.Create("evaluation_limit", I(o.EvaluationLimit)),
        ];
    }

    /// <summary>Loads a saved model of a finished phase into <paramref name="module"/> and reads its mask; the weights must be zero on it.</summary>
    static SparsityMask Restore(nn.Module module, string folder)
    {
        using (var saved = Checkpoint.Open(folder)) ModuleState.Load(module, saved);
        var mask = SparsityMask.Read(Path.Combine(folder, SparsityMask.FileName), module);
        long violations = mask.Violations(module);
        if (violations != 0)
        {
            mask.Dispose();
            throw new ModelSoupsException($"{violations} weight(s) pruned by its {SparsityMask.FileName} are not zero; delete the phase folder to make the phase again", folder);
        }
        return mask;
    }

    /// <summary>
    /// Retrains <paramref name="model"/> with its mask fixed: masked gradients are zeroed before each optimizer step and
    /// the mask is re-applied after it, so pruned weights stay exactly zero whatever the optimizer's state does.
    /// </summary>
    public static TrainingResult Retrain(nn.Module<Tensor, Tensor> model, ModelSpec spec, SparsityMask mask, ImageDataset train, ImageDataset heldOut,
        TrainingHyperparameters hp, int logEvery = 10, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        mask.Apply(model);
        var result = FineTune.Run(model, spec, train, heldOut, hp, logEvery, progress, cancel,
            afterBackward: () => mask.MaskGradients(model), afterStep: () => mask.Apply(model));
        long violations = mask.Violations(model);
        if (violations != 0) throw new InvalidOperationException($"{violations} pruned weight(s) are not zero after retraining");
        return result;
    }

    /// <summary>The mask must hold exactly round(s·n) pruned weights (per tensor for per-layer pruning).</summary>
    static void CheckCount(SparsityMask mask, double target, PruningScope scope)
    {
        long expected = scope == PruningScope.Global
            ? PruneSchedule.ZeroCount(mask.Total, target)
            : mask.Names.Sum(n => PruneSchedule.ZeroCount(mask.Keep(n).Count, target));
        if (mask.PrunedCount != expected)
            throw new InvalidOperationException($"the mask prunes {mask.PrunedCount} weights, not the {expected} of sparsity {target}");
    }

    /// <summary>A soup of same-mask ingredients is zero on the mask already (checked, not forced); then BatchNorm is recalibrated.</summary>
    static void FinishSoup(nn.Module<Tensor, Tensor> soup, ModelSpec spec, SparsityMask mask, ImageDataset train, SparseSoupOptions o)
    {
        long violations = mask.Violations(soup);
        if (violations != 0) throw new InvalidOperationException($"{violations} pruned weight(s) of the soup are not zero");
        if (o.RecalibrationBatches > 0)
            BatchNormRecalibration.Run(soup, train, o.RecalibrationBatches, o.BatchSize, seed: 0, spec.Prepare);
    }

    static string Info(int phase, double target, string name, TrainingHyperparameters? hp, TrainingResult? trained, IEnumerable<string>? members = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["phase"] = phase,
            ["target_sparsity"] = target,
            ["name"] = name,
            ["hyperparameters"] = hp,
            ["training"] = trained,
            ["members"] = members?.ToList(),
        }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });

    /// <summary>IMP's retrain: one ingredient's, or (total-compute budget) m times as many steps or epochs.</summary>
    internal static TrainingHyperparameters ImpRetrain(TrainingHyperparameters ingredient, ImpBudget budget, int ingredients) =>
        budget == ImpBudget.RetrainLength || ingredients <= 1
            ? ingredient
            : ingredient.Steps is { } steps
                ? ingredient with { Steps = checked(steps * ingredients) }
                : ingredient with { Epochs = checked(ingredient.Epochs * ingredients) };

    /// <summary>Writes weights (mask implicit in the zeros), <c>mask.safetensors</c>, <c>soup-model.json</c> and <c>sparse.json</c> atomically.</summary>
    static void Save(nn.Module module, ModelSpec spec, SparsityMask mask, string folder, string info)
    {
        var checkpoint = ModuleState.ToCheckpoint(module);
        var maskFile = Path.Combine(Path.GetTempPath(), $"modelsoups-mask-{Guid.NewGuid():N}.safetensors");
        try
        {
            mask.Write(maskFile);
            using var writer = CheckpointWriter.Create(folder, checkpoint.Tensors.Values.Select(t => t.Info).ToList(), new CheckpointWriterOptions(Overwrite: true));
            foreach (var t in checkpoint.Tensors.Values) writer.Write(t.Name, 0, t.GetBytes());
            writer.WriteText(ModelSpec.FileName, spec.ToJson());
            writer.WriteText(InfoFileName, info);
            writer.CopyFile(maskFile, SparsityMask.FileName);
            writer.Commit();
        }
        finally
        {
            File.Delete(maskFile);
        }
    }
}
