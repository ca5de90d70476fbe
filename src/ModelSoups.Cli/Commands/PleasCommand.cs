using System.CommandLine;
using ModelSoups.Pleas;
using ModelSoups.Reports;
using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Data;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup pleas --models A B --data D --budget 1.0 [1.5 …] --samples N --out DIR</c>: PLeaS merging of two models that need
/// not share a base (see <see cref="PleasMerge"/>); writes one checkpoint folder per budget, the baselines, <c>pleas.json</c>
/// and <c>report.md</c>/<c>report.html</c>, and prints the table.
/// </summary>
public static class PleasCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var models = new Option<string[]>("--models") { Description = "The two checkpoint folders A B (same architecture; A's unit order is kept).", Required = true, AllowMultipleArgumentsPerToken = true };
        var data = new Option<string>("--data") { Description = "fashion-mnist, a dataset .safetensors file or a folder with train.safetensors (and test.safetensors): unlabelled training images for matching and least squares, labelled held-out/test images for scoring.", Required = true };
        var featureData = new Option<string?>("--feature-data") { Description = "Data-free PLeaS: take the unlabelled images for matching, least squares and BatchNorm statistics from here instead of --data's training images — 'noise' (synthetic smooth noise) or another dataset (as --data; its training images); --data then only scores." };
        var budget = new Option<double[]>("--budget") { Description = "Merged size(s) as a multiple of one model, each in [1.0, 2.0] (1.0: every matched pair merged; 2.0: nothing merged).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [1.0] };
        var samples = new Option<int>("--samples") { Description = "Training images used (labels unused).", DefaultValueFactory = _ => 1000 };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder: pleas-BUDGET/ checkpoints, baselines, pleas.json, report.md, report.html.", Required = true };
        var matching = new Option<string>("--matching") { Description = "activation (PLeaS's choice) or weight (Git Re-Basin, data-free).", DefaultValueFactory = _ => "activation" };
        var labelSpace = new Option<string>("--label-space") { Description = "shared (both models predict the same classes) or separate (A's classes are labels 0..C_A−1, B's follow; each keeps its head).", DefaultValueFactory = _ => "shared" };
        var ridge = new Option<double>("--ridge") { Description = "Relative ridge term λ of the layer-wise least squares.", DefaultValueFactory = _ => 1e-4 };
        var recalibrate = new Option<int>("--recalibrate-bn") { Description = "Training batches that recompute BatchNorm statistics of each merged model (0: off).", DefaultValueFactory = _ => 20 };
        var split = new Option<string>("--eval-split") { Description = "heldout or test.", DefaultValueFactory = _ => "heldout" };
        var limit = new Option<int?>("--eval-limit") { Description = "Score on a seeded sample of at most N images." };
        var noBaselines = new Option<bool>("--no-baselines") { Description = "Only PLeaS: skip the originals, ensemble, naive average and permute+average." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the image sample.", DefaultValueFactory = _ => 0 };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the results of an earlier run in --out." };
        var command = new Command("pleas", "PLeaS (Nasery et al. 2025): merge two models trained from different initialisations by permutation alignment, partial merging to a size budget and layer-wise least squares.")
        {
            models, data, featureData, budget, samples, outDir, matching, labelSpace, ridge, recalibrate, split, limit, noBaselines, seed, overwrite,
        };
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var pair = parse.GetValue(models)!;
            if (pair.Length != 2) throw new ModelSoupsException($"--models takes exactly two checkpoint folders, not {pair.Length}");
            var budgets = parse.GetValue(budget)!;
            foreach (var b in budgets) PartialMatching.CheckBudget(b);
            var kind = AlignCommand.ParseMethod(parse.GetValue(matching)!);
            var space = parse.GetValue(labelSpace) switch
            {
                "shared" => LabelSpace.Shared,
                "separate" => LabelSpace.Separate,
                var other => throw new ModelSoupsException($"--label-space must be shared or separate, not '{other}'"),
            };
            var splits = DatasetSplits.Load(parse.GetValue(data)!);
            var splitName = parse.GetValue(split)!;
            var evaluation = splitName switch
            {
                "heldout" => splits.HeldOut,
                "test" => splits.Test ?? throw new ModelSoupsException("this dataset has no test split; use --eval-split heldout", parse.GetValue(data)),
                _ => throw new ModelSoupsException($"--eval-split must be heldout or test, not '{splitName}'"),
            };
            if (parse.GetValue(limit) is { } n)
            {
                if (n < 1) throw new ModelSoupsException("--eval-limit must be at least 1");
                evaluation = evaluation.Sample(n, DatasetSplits.DefaultSplitSeed);
            }
            var (features, featureSource) = FeatureImages(parse.GetValue(featureData), splits, Math.Max(parse.GetValue(samples), parse.GetValue(recalibrate) * PleasOptions.DefaultBatchSize), parse.GetValue(seed));
            var stderr = parse.InvocationConfiguration.Error;
            var outPath = Path.GetFullPath(parse.GetValue(outDir)!);
            var results = PleasMerge.Run(new PleasOptions
            {
                ModelA = pair[0],
                ModelB = pair[1],
                Train = features,
                FeatureSource = featureSource,
                Evaluation = evaluation,
                EvaluationDescription = $"{splits.Description} {splitName} ({evaluation.Count} images)",
                Out = outPath,
                Budgets = budgets,
                Samples = parse.GetValue(samples),
                Matching = kind,
                LabelSpace = space,
                Ridge = parse.GetValue(ridge),
                RecalibrationBatches = parse.GetValue(recalibrate),
                Seed = parse.GetValue(seed),
                Baselines = !parse.GetValue(noBaselines),
                Title = space == LabelSpace.Shared ? "PLeaS, shared label space" : "PLeaS, different label spaces",
                Overwrite = parse.GetValue(overwrite),
            }, line => stderr.WriteLine($"pleas: {line}"), cancel);
            var (md, html) = PleasReport.Write(outPath, [results]);
            var stdout = parse.InvocationConfiguration.Output;
            stdout.Write(PleasReport.Text(results));
            stdout.WriteLine($"wrote {Path.Combine(outPath, PleasResults.FileName)}, {md}, {html}");
            return 0;
        }
    }

    /// <summary>The images PLeaS fits on: the task's training images, synthetic noise of their shape, or another dataset's training images.</summary>
    static (ImageDataset Images, string? Source) FeatureImages(string? source, DatasetSplits task, int count, ulong seed)
    {
        if (source is null) return (task.Train, null);
        if (source == NoiseImages.Name)
            return (NoiseImages.Create(Math.Max(count, 1), task.Train.Channels, task.Train.Height, task.Train.Width, seed), "synthetic noise");
        var other = DatasetSplits.Load(source);
        return (other.Train, other.Description);
    }
}
