using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using ModelSoups.Checkpoints;
using ModelSoups.Cli.Progress;
using ModelSoups.Evaluation;

namespace ModelSoups.Cli.Commands;

/// <summary><c>soup eval MODEL [evaluator options]</c>: prints one checkpoint's score and metrics.</summary>
public static class EvalCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The checkpoint to evaluate: a Hugging Face folder (or, for --onnx and --torch-model, also a .safetensors or PyTorch .bin/.pt/.pth file)." };
        var json = new Option<bool>("--json") { Description = "Print {\"score\":…,\"metrics\":{…}} instead of lines." };
        var resultFile = new Option<string?>("--result-file") { Description = "Also write {\"score\":…,\"metrics\":{…}} to this file (atomically). Needed with --executor: the evaluation's files go to FILE.work/." };
        var evaluatorOptions = new EvaluatorOptions();
        var command = new Command("eval", "Evaluate one checkpoint with a command or ONNX Runtime and print its score and metrics.") { model, json, resultFile };
        evaluatorOptions.AddTo(command);
        var open = new CheckpointOpenCliOptions();
        open.AddTo(command);
        var executorOptions = new ExecutorCliOptions();
        executorOptions.AddTo(command);
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var path = parse.GetValue(model)!;
            var full = Path.GetFullPath(path);
            var (evaluator, data) = evaluatorOptions.Create(parse);
            using var _ = data;
            var resultPath = parse.GetValue(resultFile) is { } rf ? Path.GetFullPath(rf) : null;
            var executor = executorOptions.Create(parse);
            EvaluationResult result;
            if (executor is null) result = Evaluate(evaluator);
            else
            {
                if (resultPath is null) throw new ModelSoupsException("--executor processes|slurm with soup eval needs --result-file FILE (its job files go to FILE.work/).");
                // The executor's lines go through the command's one progress view.
                result = ProgressView.Run(parse.InvocationConfiguration.Error, view => Evaluate(new ModelSoups.Execution.ExecutorEvaluator(
                    evaluatorOptions.Remote(parse, executor, open, new ExecutionProgressView(view, executor.Name).Report), evaluator, resultPath + ".work")));
            }
            if (resultPath is not null) ModelSoups.Execution.EvaluationResultFile.Write(resultPath, result);
            if (parse.GetValue(json))
            {
                var metrics = new JsonObject();
                foreach (var (k, v) in result.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal)) metrics[k] = v;
                stdout.WriteLine(new JsonObject { ["score"] = result.Score, ["metrics"] = metrics }.ToJsonString());
                return 0;
            }
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"score {result.Score:R}"));
            foreach (var (k, v) in result.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal))
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {k} {v:R}"));
            if (executor is null && evaluator is ModelSoups.Onnx.OnnxEvaluator onnx)
                foreach (var n in onnx.Notes) parse.InvocationConfiguration.Error.WriteLine($"note: {n}");
            return 0;

            EvaluationResult Evaluate(IEvaluator e)
            {
                if (e.NeedsFolder)
                {
                    if (!Directory.Exists(full))
                        throw new ModelSoupsException(File.Exists(full) ? "the evaluation command needs a checkpoint folder, not a file." : "the model to evaluate does not exist.", full);
                    return e.Evaluate(Candidate.FromFolder(path, full), cancel);
                }
                using var ckpt = Checkpoint.Open(path, open.Read(parse));
                return e.Evaluate(Candidate.FromCheckpoint(path, ckpt), cancel);
            }
        }
    }
}
