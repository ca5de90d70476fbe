using System.CommandLine;
using System.Globalization;
using ModelSoups.Experiments.Sparse;
using ModelSoups.Reports;
using ModelSoups.Soups;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Sparse;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup sparse --base CKPT --data ... --sparsity 0.9 --phases 3 --ingredients 4 --vary data_seed --out DIR</c>:
/// Sparse Model Soups (see <see cref="SparseSoup"/>), with progress and the per-phase table.
/// </summary>
public static class SparseCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var baseModel = new Option<string>("--base") { Description = "The model to sparsify: a checkpoint folder with soup-model.json (e.g. from soup finetune; weights as model.safetensors or a PyTorch pytorch_model.bin).", Required = true };
        var data = new Option<string>("--data") { Description = "fashion-mnist, a dataset .safetensors file, or a folder with train.safetensors (and test.safetensors).", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the results of an earlier run in --out, making every phase again (refused by default, so a rerun never silently replaces them)." };
        var resume = new Option<bool>("--resume") { Description = "Continue an earlier run in --out: phases it finished with the same settings are reused, the rest made (a changed setting is refused, naming it)." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder: phase-P/{ingredient-I,soup-uniform,soup-greedy,imp}/, results.json, report.md, report.html.", Required = true };
        var sparsity = new Option<double>("--sparsity") { Description = "Goal sparsity S of the Conv/Linear weights after the last phase.", DefaultValueFactory = _ => 0.9 };
        var phases = new Option<int>("--phases") { Description = "Prune–retrain phases T; each prunes q = 1 − (1 − S)^(1/T) of the remaining weights.", DefaultValueFactory = _ => 3 };
        var ingredients = new Option<int>("--ingredients") { Description = "Retrained copies m per phase.", DefaultValueFactory = _ => 4 };
        var vary = new Option<string>("--vary") { Description = "The hyperparameter the copies differ in: data_seed, weight_decay, steps, lr (or any sweep key with --values).", DefaultValueFactory = _ => "data_seed" };
        var values = new Option<string[]>("--values") { Description = "One value of --vary per ingredient (default: a spread around the base value).", AllowMultipleArgumentsPerToken = true };
        var impBudget = new Option<string>("--imp-budget") { Description = "IMP baseline's retrain per phase: compute (as long as all ingredients together: the same total budget, default) or length (as one ingredient).", DefaultValueFactory = _ => "compute" };
        var merge = new Option<string>("--merge") { Description = "Soup that starts the next phase: uniform or greedy (both are measured).", DefaultValueFactory = _ => "uniform" };
        var perLayer = new Option<bool>("--per-layer") { Description = "Prune every tensor to the phase's sparsity instead of one global ranking." };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps of one retrain (each ingredient, and IMP's one retrain per phase).", DefaultValueFactory = _ => 200 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate of retraining (linear warm-up over 10 %, then linear decay to 0).", DefaultValueFactory = _ => 1e-3 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Weight decay of retraining.", DefaultValueFactory = _ => 1e-4 };
        var batchSize = new Option<int>("--batch-size") { Description = "Retraining batch size.", DefaultValueFactory = _ => 64 };
        var optimizer = new Option<string>("--optimizer") { Description = "adamw or sgd.", DefaultValueFactory = _ => "adamw" };
        var seed = new Option<ulong>("--seed") { Description = "Base data seed of retraining.", DefaultValueFactory = _ => 0 };
        var recalibrate = new Option<int>("--recalibrate-bn") { Description = "Training batches that recalibrate a soup's BatchNorm statistics (0: off).", DefaultValueFactory = _ => 20 };
        var subset = new Option<int?>("--subset") { Description = "Retrain on a seeded sample of N training images." };
        var limit = new Option<int?>("--eval-limit") { Description = "Score on a seeded sample of at most N held-out/test images." };
        var command = new Command("sparse", "Sparse Model Soups (Zimmer et al. 2024): prune in phases, retrain m copies per phase with the mask fixed, soup them, go on from the soup; IMP as the baseline.")
        {
            baseModel, data, outDir, resume, overwrite, impBudget, sparsity, phases, ingredients, vary, values, merge, perLayer, steps, lr, weightDecay, batchSize, optimizer, seed, recalibrate, subset, limit,
        };
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var outPath = Path.GetFullPath(parse.GetValue(outDir)!);
            if (parse.GetValue(resume) && parse.GetValue(overwrite)) throw new ModelSoupsException("--resume and --overwrite exclude each other");
            if (Directory.Exists(outPath) && Directory.EnumerateFileSystemEntries(outPath).Any() && !parse.GetValue(overwrite) && !parse.GetValue(resume))
                throw new ModelSoupsException("the output folder is not empty; choose a new folder, pass --resume to continue its run with the same settings, or --overwrite to replace its results", outPath);
            var splits = DatasetSplits.Load(parse.GetValue(data)!);
            if (parse.GetValue(subset) is { } n)
            {
                if (n < 1) throw new ModelSoupsException("--subset must be at least 1");
                splits = splits with { Train = splits.Train.Sample(n, DatasetSplits.DefaultSplitSeed) };
            }
            var imp = parse.GetValue(impBudget) switch
            {
                "compute" => ImpBudget.TotalCompute,
                "length" => ImpBudget.RetrainLength,
                var other => throw new ModelSoupsException($"--imp-budget must be compute or length, not '{other}'"),
            };
            var mergeKind = parse.GetValue(merge) switch
            {
                "uniform" => SparseSoupMerge.Uniform,
                "greedy" => SparseSoupMerge.Greedy,
                var other => throw new ModelSoupsException($"--merge must be uniform or greedy, not '{other}'"),
            };
            var retrain = new TrainingHyperparameters { Schedule = "linear", Warmup = 0.1 }
                .With("steps", parse.GetValue(steps), "--steps")
                .With("lr", parse.GetValue(lr), "--lr")
                .With("weight_decay", parse.GetValue(weightDecay), "--weight-decay")
                .With("batch_size", parse.GetValue(batchSize), "--batch-size")
                .With("optimizer", parse.GetValue(optimizer)!, "--optimizer")
                with { DataSeed = parse.GetValue(seed) };
            var given = parse.GetValue(values);
            var result = SparseSoup.Run(new SparseSoupOptions
            {
                Base = parse.GetValue(baseModel)!,
                Data = splits,
                Out = parse.GetValue(outDir)!,
                Sparsity = parse.GetValue(sparsity),
                ImpBudget = imp,
                Phases = parse.GetValue(phases),
                Ingredients = parse.GetValue(ingredients),
                Retrain = retrain,
                Vary = parse.GetValue(vary)!,
                Values = given is { Length: > 0 } ? given : null,
                Merge = mergeKind,
                Scope = parse.GetValue(perLayer) ? PruningScope.PerLayer : PruningScope.Global,
                Accept = AcceptRule.GreaterOrEqual,
                RecalibrationBatches = parse.GetValue(recalibrate),
                EvaluationLimit = parse.GetValue(limit),
                Resume = parse.GetValue(overwrite) ? SparseResume.RedoAll : SparseResume.Resume,
            }, new SparseProgressPrinter(stderr).Report, cancel);

            SparseReport.Write(parse.GetValue(outDir)!, result);
            Print(stdout, result);
            stdout.WriteLine($"wrote {Path.GetFullPath(parse.GetValue(outDir)!)} ({SparseSoupResult.FileName}, {SparseReport.MarkdownFileName}, {SparseReport.HtmlFileName})");
            return 0;
        }
    }

    /// <summary>The per-phase table: IMP, best ingredient, SMS uniform, SMS greedy.</summary>
    public static void Print(TextWriter stdout, SparseSoupResult result)
    {
        static string P(double? x) => x is { } v ? v.ToString("P2", CultureInfo.InvariantCulture) : "–";
        stdout.WriteLine("phase  sparsity  method                                  held-out   test       OOD");
        foreach (var p in result.Phases)
            foreach (var (label, row) in SparseReport.Summary(p))
                stdout.WriteLine($"{p.Phase,5}  {P(p.Sparsity),8}  {label,-38}  {P(row.HeldOut),8}  {P(row.Test),8}  {P(row.Ood),8}");
    }
}

/// <summary>Prints sparse-run progress as plain lines (training steps at most every few seconds).</summary>
sealed class SparseProgressPrinter(TextWriter stderr)
{
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    TimeSpan _last = TimeSpan.FromSeconds(-10);

    public void Report(SparseProgress p)
    {
        string where = $"phase {p.Phase}/{p.Phases}";
        if (p.Step is { } s)
        {
            if (_clock.Elapsed - _last < TimeSpan.FromSeconds(5)) return;
            _last = _clock.Elapsed;
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{where} retrain {p.Name}: step {s.Step}/{s.TotalSteps} loss {s.Loss:0.0000}"));
            return;
        }
        if (p.Row is { } r)
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{where} {r.Method}: held-out {r.HeldOut:P2}"));
        else
            stderr.WriteLine($"{where} {p.Stage}{(p.Name is null ? "" : " " + p.Name)}{(p.Message is null ? "" : ": " + p.Message)}");
    }
}
