using System.CommandLine;
using ModelSoups.TorchSharp.Evaluation;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// The options that select the in-process TorchSharp evaluator (<c>--torch-model ARCH|soup-model.json --data ...
/// --eval-split heldout|test [--recalibrate-bn N] [--eval-limit N]</c>), for any command that evaluates
/// candidates (e.g. <c>soup greedy</c>): add them with <see cref="AddTo"/>, build with <see cref="TryCreate"/>.
/// </summary>
public sealed class TorchEvaluatorCliOptions
{
    public Option<string?> Model { get; } = new("--torch-model") { Description = "Evaluate in process with TorchSharp: an architecture (resnet18-imagenet, cnn, mlp), a soup-model.json or a folder with one." };
    public Option<string?> Data { get; } = new("--data") { Description = "Evaluation data: fashion-mnist, a dataset .safetensors file, or a folder with train.safetensors/test.safetensors." };
    public Option<string> Split { get; } = new("--eval-split") { Description = "heldout (the held-out part of the training set, default) or test.", DefaultValueFactory = _ => "heldout" };
    public Option<int> Recalibrate { get; } = new("--recalibrate-bn") { Description = "Recalibrate BatchNorm statistics on N training batches before each evaluation (0: off).", DefaultValueFactory = _ => 0 };
    public Option<int?> Limit { get; } = new("--eval-limit") { Description = "Evaluate a seeded sample of at most N examples." };
    public Option<int> BatchSize { get; } = new("--eval-batch-size") { Description = "Evaluation batch size.", DefaultValueFactory = _ => 256 };

    /// <summary>Adds the options to <paramref name="command"/> (skipping --data when the command already has it).</summary>
    public void AddTo(Command command, bool includeData = true)
    {
        command.Options.Add(Model);
        if (includeData) command.Options.Add(Data);
        command.Options.Add(Split);
        command.Options.Add(Recalibrate);
        command.Options.Add(Limit);
        command.Options.Add(BatchSize);
    }

    /// <summary>The evaluator when <c>--torch-model</c> was given, else null. <paramref name="data"/> overrides <c>--data</c>.</summary>
    public TorchEvaluator? TryCreate(ParseResult parse, string? data = null)
    {
        var model = parse.GetValue(Model);
        if (model is null) return null;
        data ??= parse.GetValue(Data) ?? throw new ModelSoupsException("--torch-model needs --data");
        return TorchEvaluator.FromOptions(new TorchEvaluatorOptions
        {
            Model = model,
            Data = data,
            Split = parse.GetValue(Split)!,
            RecalibrateBatches = parse.GetValue(Recalibrate),
            Limit = parse.GetValue(Limit),
            BatchSize = parse.GetValue(BatchSize),
        });
    }
}
