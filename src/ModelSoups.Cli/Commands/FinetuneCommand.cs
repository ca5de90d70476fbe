using System.CommandLine;
using System.Globalization;
using ModelSoups.Cli.Progress;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup finetune --model resnet18-imagenet|cnn|mlp|CKPT --data fashion-mnist|PATH (--sweep SWEEP.yaml | --runs N) --out DIR</c>:
/// trains a soup's ingredients with TorchSharp (see <see cref="FineTuneSweep"/>), prints progress and a table.
/// </summary>
public static class FinetuneCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "resnet18-imagenet (ImageNet ResNet-18 + new head, linear-probed first), cnn, mlp, or a checkpoint folder with soup-model.json (weights as model.safetensors or a PyTorch pytorch_model.bin).", Required = true };
        var data = new Option<string>("--data") { Description = "fashion-mnist, a dataset .safetensors file (inputs, labels), or a folder with train.safetensors.", Required = true };
        var sweep = new Option<string?>("--sweep") { Description = "Sweep YAML: grid: {lr: [...], ...} or random: {runs: N, seed: S, lr: {log_uniform: [a, b]}, ...}." };
        var runs = new Option<int?>("--runs") { Description = "Quick random sweep of N runs over lr, weight decay, label smoothing, augmentation and data seed." };
        var subset = new Option<int?>("--subset") { Description = "Train on a seeded sample of N images and measure on at most N held-out images." };
        var steps = new Option<int?>("--steps") { Description = "Every run takes exactly N optimizer steps." };
        var imageSize = new Option<int?>("--image-size") { Description = "Model input side in pixels (default 32 for the ResNet, the data's size otherwise)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the new head / fresh model, the linear probe and the quick sweep.", DefaultValueFactory = _ => 0 };
        var probe = new Option<int?>("--linear-probe-steps") { Description = "Steps fitting the head alone before the sweep (default 200 for resnet18-imagenet, 0 otherwise)." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder: _init/ and one ingredient folder per run. Rerunning resumes.", Required = true };
        var onlyRun = new Option<string?>("--only-run") { Description = "Train only this run (what a worker does; the common start must exist).", Hidden = true };
        var command = new Command("finetune", "Fine-tune soup ingredients with TorchSharp: a hyperparameter sweep from a common start, one checkpoint folder per run.")
        {
            model, data, sweep, runs, subset, steps, imageSize, seed, probe, outDir, onlyRun,
        };
        var executorOptions = new ExecutorCliOptions();
        executorOptions.AddTo(command);
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var sweepPath = parse.GetValue(sweep);
            var runCount = parse.GetValue(runs);
            if ((sweepPath is null) == (runCount is null)) throw new ModelSoupsException("give either --sweep SWEEP.yaml or --runs N");
            if (runCount is < 1) throw new ModelSoupsException("--runs must be at least 1");
            var plan = sweepPath is not null ? Sweep.Load(sweepPath) : Sweep.Default(runCount!.Value, parse.GetValue(seed));
            var executor = executorOptions.Create(parse);
            var results = ProgressView.Run(stderr, view => FineTuneSweep.Run(new FineTuneSweepOptions
            {
                Model = parse.GetValue(model)!,
                Data = parse.GetValue(data)!,
                Runs = plan,
                Out = parse.GetValue(outDir)!,
                Subset = parse.GetValue(subset),
                Steps = parse.GetValue(steps),
                ImageSize = parse.GetValue(imageSize),
                Seed = parse.GetValue(seed),
                LinearProbeSteps = parse.GetValue(probe),
                OnlyRun = parse.GetValue(onlyRun),
                Executor = executor,
                WorkerArguments = run => executorOptions.WorkerArguments(parse, [onlyRun], "--only-run", run.Name),
                ExecutionProgress = executor is null ? null : new ExecutionProgressView(view, executor.Name).Report,
            }, new TrainingProgressReporter(view).Report, cancel));

            stdout.WriteLine("run       held-out  loss     steps  seconds  hyperparameters");
            foreach (var (folder, r, skipped) in results)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Name,-9} {r.HeldOut,8:P2}  {r.HeldOutLoss,7:0.0000}  {r.Steps,5}  {r.Seconds,7:0.0}  {r.Hyperparameters.Describe()}{(skipped ? "  (resumed)" : "")}"));
            var best = results.MaxBy(r => r.Record.HeldOut);
            stdout.WriteLine($"wrote {results.Count} ingredient(s) to {Path.GetFullPath(parse.GetValue(outDir)!)}; best {best.Record.Name} {best.Record.HeldOut.ToString("P2", CultureInfo.InvariantCulture)}");
            return 0;
        }
    }
}
