using System.Diagnostics;
using System.Globalization;
using ModelSoups.Pleas;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// PLeaS end to end (Nasery et al. 2025, "PLeaS — Merging Models with Permutations and Least Squares"): align B onto A
/// (activation or weight matching), choose per group which matched pairs to merge under the budget
/// (<see cref="PartialMatching"/>), start from the partially merged weights (<see cref="MergedState"/>), fit every
/// layer by least squares to the permuted originals' features (<see cref="LayerwiseLeastSquares"/>), recompute
/// BatchNorm statistics on training images, and write each merged model as a normal checkpoint folder whose
/// <c>soup-model.json</c> carries the merged widths. Optionally measures the baselines the paper compares with.
/// Data-free PLeaS: <see cref="PleasOptions.Train"/> may hold images of another domain (or <see cref="NoiseImages"/>) instead of
/// the task's; every data-dependent step (matching, least squares, BatchNorm statistics) then sees only those.
/// </summary>
public static class PleasMerge
{
    /// <summary>Runs PLeaS for every budget of <paramref name="o"/>; <paramref name="progress"/> receives one line per stage.</summary>
    public static PleasResults Run(PleasOptions o, Action<string>? progress = null, CancellationToken cancel = default)
    {
        foreach (var budget in o.Budgets) PartialMatching.CheckBudget(budget);
        if (o.Budgets.Count == 0) throw new ModelSoupsException("give at least one --budget");
        var outPath = Path.GetFullPath(o.Out);
        if (Directory.Exists(outPath) && Directory.EnumerateFileSystemEntries(outPath).Any() && !o.Overwrite)
            throw new ModelSoupsException("the output folder is not empty; choose a new folder or pass --overwrite", outPath);
        var clock = Stopwatch.StartNew();
        using var _ = no_grad();

        var (moduleA, specA) = ModuleFolder.Load(o.ModelA);
        var (moduleB, specB) = ModuleFolder.Load(o.ModelB);
        var a = StateTensors.Of(moduleA);
        var b = StateTensors.Of(moduleB);
        moduleA.eval(); moduleB.eval();
        var network = ModelAlignment.PrepareNetwork(specA, specB, moduleB, a, b, o.ModelA, o.ModelB);
        var spec = network.Spec;
        var chain = network.Merge;
        var head = MergePlan.HeadPlan(o.LabelSpace, specA.Classes, specB.Classes);
        if (o.Evaluation.Channels != specA.Channels)
            throw new ModelSoupsException($"the models read {specA.Channels}-channel images, the data has {o.Evaluation.Channels}", o.Evaluation.Source);
        if (o.Train.Channels != specA.Channels)
            throw new ModelSoupsException($"the models read {specA.Channels}-channel images, the feature data has {o.Train.Channels}", o.Train.Source);
        var inputs = ModelAlignment.Inputs(specA, o.Train, o.Samples, o.BatchSize, o.Seed);
        int inputFeatures = checked((int)a[chain.MergeLayers[0].Weight].shape[1]);

        progress?.Invoke($"matching {spec.Groups.Count} permutation group(s) on {o.Samples} images");
        var byActivation = spec.Apply(b, ActivationMatching.Match(network, a, b, inputs));
        var byWeight = spec.Apply(b, WeightMatching.Match(spec, a, b, o.Seed));
        var aligned = o.Matching == AlignmentMethod.Activation ? byActivation : byWeight;
        // Merge order: the correlation of each matched pair (the paper's matching cost), so the worst-matched pairs are kept apart first.
        var scores = ActivationMatching.Correlations(network, a, aligned, inputs)
            .Select(c => Enumerable.Range(0, c.GetLength(0)).Select(i => c[i, i]).ToArray()).ToList();

        var allMerged = MergePlan.AllMerged(spec, o.LabelSpace, specA.Classes, specB.Classes);
        long oneModel = ChainParameters.Count(chain, inputFeatures, MergePlan.AllMerged(spec, LabelSpace.Shared, specA.Classes, specA.Classes));
        var rows = new List<PleasRow>();
        var layouts = new List<PleasLayout>();
        Directory.CreateDirectory(outPath);

        if (o.Baselines)
        {
            progress?.Invoke("evaluating the originals and their ensemble");
            var logitsA = BatchedInference.Run(moduleA, specA, o.Evaluation, o.BatchSize, cancel);
            var logitsB = BatchedInference.Run(moduleB, specB, o.Evaluation, o.BatchSize, cancel);
            if (o.LabelSpace == LabelSpace.Shared)
            {
                rows.Add(new PleasRow("model A", null, oneModel, PleasScoring.Accuracy(logitsA.Logits, logitsA.Labels, specA.Classes), Path: Path.GetFullPath(o.ModelA)));
                rows.Add(new PleasRow("model B", null, oneModel, PleasScoring.Accuracy(logitsB.Logits, logitsB.Labels, specB.Classes), Path: Path.GetFullPath(o.ModelB)));
                var ensemble = PleasScoring.AverageProbabilities(logitsA.Logits, logitsB.Logits, specA.Classes);
                rows.Add(new PleasRow("ensemble", null, 2 * oneModel, PleasScoring.Accuracy(ensemble, logitsA.Labels, specA.Classes)));
            }
            else
            {
                double taskA = PleasScoring.TaskAccuracy(logitsA.Logits, logitsA.Labels, specA.Classes, 0, specA.Classes, 0);
                double taskB = PleasScoring.TaskAccuracy(logitsB.Logits, logitsB.Labels, specB.Classes, specA.Classes, specB.Classes, 0);
                rows.Add(new PleasRow("model A", null, oneModel, taskA, TaskA: taskA, Path: Path.GetFullPath(o.ModelA)));
                rows.Add(new PleasRow("model B", null, ChainParameters.Count(chain, inputFeatures, MergePlan.AllMerged(spec, LabelSpace.Shared, specB.Classes, specB.Classes)),
                    taskB, TaskB: taskB, Path: Path.GetFullPath(o.ModelB)));
                rows.Add(new PleasRow("ensemble (each model on its task)", null, rows[0].Parameters + rows[1].Parameters, (taskA + taskB) / 2, taskA, taskB));
            }
            foreach (var (label, model, folder) in new[] { ("naive average", b, "naive-average"), ("permute+average (weight matching)", byWeight, "permute-average-weight"),
                         ("permute+average (activation matching)", byActivation, "permute-average-activation") })
            {
                cancel.ThrowIfCancellationRequested();
                progress?.Invoke(label);
                var state = MergedState.Build(chain, spec, allMerged, a, model);
                rows.Add(Measure(label, null, state, allMerged, specA, chain, inputFeatures, o, Path.Combine(outPath, folder), cancel));
            }
        }

        foreach (double budget in o.Budgets)
        {
            cancel.ThrowIfCancellationRequested();
            var plan = PartialMatching.Plan(chain, spec, scores, budget, inputFeatures, head, o.LabelSpace);
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"PLeaS budget {budget:0.00}: widths [{string.Join(", ", plan.Widths)}], least squares"));
            var state = MergedState.Build(chain, spec, plan, a, aligned);
            LayerwiseLeastSquares.Fit(chain, plan, a, aligned, state, inputs, o.Ridge);
            rows.Add(Measure("PLeaS", budget, state, plan, specA, chain, inputFeatures, o,
                Path.Combine(outPath, string.Create(CultureInfo.InvariantCulture, $"pleas-{budget:0.00}")), cancel));
            layouts.Add(new PleasLayout(budget, plan.Groups.Select((g, i) => new PleasGroupLayout(g.Name, spec.Groups[i].Size, g.Merged.Length, g.KeptA.Length)).ToList()));
        }

        var results = new PleasResults
        {
            Title = o.Title,
            Architecture = specA.Architecture,
            LabelSpace = o.LabelSpace == LabelSpace.Shared ? "shared" : "separate",
            Matching = o.Matching == AlignmentMethod.Activation ? "activation" : "weight",
            Samples = Math.Min(o.Samples, o.Train.Count),
            Features = o.FeatureSource,
            Ridge = o.Ridge,
            Evaluation = o.EvaluationDescription,
            OneModelParameters = oneModel,
            Rows = rows,
            Layouts = layouts,
            Seconds = clock.Elapsed.TotalSeconds,
        };
        Durability.AtomicFile.WriteAllText(Path.Combine(outPath, PleasResults.FileName), results.ToJson());
        return results;
    }

    /// <summary>Materialises a merged state as a module of its widths, recomputes BatchNorm statistics, saves and scores it.</summary>
    static PleasRow Measure(string method, double? budget, Dictionary<string, Tensor> state, MergePlan plan, ModelSpec reference, IMergeNetwork chain,
        int inputFeatures, PleasOptions o, string folder, CancellationToken cancel)
    {
        var spec = plan.MergedSpec(reference);
        using var module = spec.Create();
        StateTensors.Into(module, state);
        if (o.RecalibrationBatches > 0 && chain.MergeLayers.Any(l => l.BatchNorm is not null))
            BatchNormRecalibration.Run(module, o.Train, o.RecalibrationBatches, o.BatchSize, o.Seed, spec.Prepare);
        module.eval();
        ModuleFolder.Save(module, spec, folder, overwrite: o.Overwrite);
        var (logits, labels) = BatchedInference.Run(module, spec, o.Evaluation, o.BatchSize, cancel);
        long parameters = ChainParameters.Count(chain, inputFeatures, plan);
        if (plan.LabelSpace == LabelSpace.Shared)
            return new PleasRow(method, budget, parameters, PleasScoring.Accuracy(logits, labels, spec.Classes), Path: folder);
        int ca = plan.Head.KeptA.Length, cb = plan.Head.KeptB.Length;
        double taskA = PleasScoring.TaskAccuracy(logits, labels, spec.Classes, 0, ca, 0);
        double taskB = PleasScoring.TaskAccuracy(logits, labels, spec.Classes, ca, cb, ca);
        return new PleasRow(method, budget, parameters, (taskA + taskB) / 2, taskA, taskB, folder);
    }
}
