using System.CommandLine;
using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.Onnx;

namespace ModelSoups.Cli;

/// <summary>
/// The evaluator options shared by <c>soup eval</c> and <c>soup greedy</c>: a command
/// (<c>--eval-cmd</c>, <c>--metric</c>, <c>--eval-timeout</c>) or an ONNX model with held-out data
/// (<c>--onnx</c>, <c>--data</c>, …), plus <c>--on-eval-error</c>.
/// </summary>
sealed class EvaluatorOptions
{
    readonly Option<string?> _cmd = new("--eval-cmd") { Description = "Evaluation command run by /bin/sh; {model} becomes the candidate folder; its last stdout line is the score (a number or JSON {\"score\":…,\"metrics\":{…}}). Example: 'python eval.py --model {model}'." };
    readonly Option<string?> _metric = new("--metric") { Description = "Which number of the command's JSON is the score: NAME or metrics.NAME (default: score)." };
    readonly Option<double> _timeout = new("--eval-timeout")
    {
        Description = $"Longest one evaluation may run, seconds (default {CommandEvaluator.DefaultTimeout.TotalSeconds:0}, i.e. {CommandEvaluator.DefaultTimeout.TotalHours:0} h); the command and every process it started are killed after it.",
        DefaultValueFactory = _ => CommandEvaluator.DefaultTimeout.TotalSeconds,
    };
    readonly Option<string> _onError = new("--on-eval-error") { Description = "When an evaluation fails: fail (stop, default) or skip (leave the ingredient out / reject the candidate).", DefaultValueFactory = _ => "fail" };
    readonly Option<string?> _onnx = new("--onnx") { Description = "Evaluate in process with ONNX Runtime: the model.onnx whose weights are replaced by each candidate's." };
    readonly Option<string?> _data = new("--data") { Description = "With --onnx: held-out data, a .safetensors file with an inputs and a labels tensor. With --torch-model: fashion-mnist, a dataset .safetensors file, or a folder with train/test.safetensors." };
    readonly Option<string> _inputs = new("--inputs-tensor") { Description = "With --onnx: the inputs tensor's name in --data.", DefaultValueFactory = _ => "inputs" };
    readonly Option<string> _labels = new("--labels-tensor") { Description = "With --onnx: the labels tensor's name in --data.", DefaultValueFactory = _ => "labels" };
    readonly Option<string?> _nameMap = new("--name-map") { Description = "With --onnx: a file mapping checkpoint tensor names to ONNX initializer names." };
    readonly Option<int> _batch = new("--batch-size") { Description = "With --onnx: examples per run.", DefaultValueFactory = _ => 256 };
    readonly Option<bool> _cuda = new("--cuda") { Description = "With --onnx: run on CUDA (the GPU build of ONNX Runtime)." };
    readonly Commands.TorchEvaluatorCliOptions _torch = new();

    /// <summary>Every option of the evaluator (what a worker's <c>soup eval</c> must be given again).</summary>
    public IEnumerable<Option> All => [_cmd, _metric, _timeout, _onnx, _data, _inputs, _labels, _nameMap, _batch, _cuda,
        _torch.Model, _torch.Split, _torch.Recalibrate, _torch.Limit, _torch.BatchSize];

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _cmd, _metric, _timeout, _onError, _onnx, _data, _inputs, _labels, _nameMap, _batch, _cuda })
            command.Options.Add(o);
        // --torch-model shares --data with --onnx.
        _torch.AddTo(command, includeData: false);
    }

    /// <summary>
    /// Evaluations as units of work on <paramref name="executor"/>: each one a worker's
    /// <c>soup eval FOLDER … --result-file=FILE</c>, given again the evaluator and checkpoint-reading options the user gave.
    /// </summary>
    public ModelSoups.Execution.RemoteEvaluation Remote(ParseResult parse, ModelSoups.Execution.IExecutor executor, Commands.CheckpointOpenCliOptions open,
        Action<ModelSoups.Execution.ExecutionProgress> progress)
    {
        var given = All.Concat([open.StateDictKey, open.StripPrefix]).ToList();
        return new ModelSoups.Execution.RemoteEvaluation(executor,
            (folder, file) => ["eval", folder, .. ExecutorCliOptions.GivenOptions(parse, given), $"--result-file={file}"], progress);
    }

    /// <summary>True for <c>--on-eval-error skip</c>; a user error for anything but skip or fail.</summary>
    public bool SkipErrors(ParseResult parse) => parse.GetValue(_onError) switch
    {
        "skip" => true,
        "fail" => false,
        var v => throw new ModelSoupsException($"--on-eval-error: '{v}' is neither skip nor fail."),
    };

    /// <summary>Builds the evaluator; the returned disposable owns the held-out data (dispose after evaluating).</summary>
    public (IEvaluator Evaluator, IDisposable? Data) Create(ParseResult parse)
    {
        SkipErrors(parse);
        var cmd = parse.GetValue(_cmd);
        var onnx = parse.GetValue(_onnx);
        var torch = parse.GetValue(_torch.Model);
        if ((cmd is null ? 0 : 1) + (onnx is null ? 0 : 1) + (torch is null ? 0 : 1) != 1)
            throw new ModelSoupsException("give exactly one evaluator: --eval-cmd 'COMMAND {model}', --onnx MODEL.onnx --data HELDOUT.safetensors, or --torch-model ARCH --data DATA.");
        if (torch is not null)
        {
            if (parse.GetValue(_metric) is not null) throw new ModelSoupsException("--metric goes with --eval-cmd; the TorchSharp evaluator's score is top-1 accuracy.");
            var torchData = parse.GetValue(_data) ?? throw new ModelSoupsException("--torch-model needs --data (fashion-mnist, a dataset .safetensors file, or a folder with train/test.safetensors).");
            var torchEvaluator = _torch.TryCreate(parse, torchData)!;
            return (torchEvaluator, torchEvaluator);
        }
        if (cmd is not null)
        {
            if (parse.GetValue(_data) is not null) throw new ModelSoupsException("--data goes with --onnx, not with --eval-cmd.");
            var timeout = parse.GetValue(_timeout);
            if (!(timeout > 0) || !double.IsFinite(timeout) || timeout > TimeSpan.MaxValue.TotalSeconds / 2)
                throw new ModelSoupsException($"--eval-timeout must be a positive number of seconds, got {timeout}.");
            return (new CommandEvaluator(new CommandEvaluatorOptions
            {
                Template = cmd,
                Metric = parse.GetValue(_metric),
                Timeout = TimeSpan.FromSeconds(timeout),
            }), null);
        }
        if (parse.GetValue(_metric) is not null) throw new ModelSoupsException("--metric goes with --eval-cmd; the ONNX evaluator's score is top-1 accuracy.");
        var dataPath = parse.GetValue(_data) ?? throw new ModelSoupsException("--onnx needs --data HELDOUT.safetensors (inputs and labels tensors).");
        var data = Checkpoint.Open(dataPath);
        try
        {
            var mapPath = parse.GetValue(_nameMap);
            if (mapPath is not null && !File.Exists(mapPath)) throw new ModelSoupsException("the name map file does not exist.", Path.GetFullPath(mapPath));
            var evaluator = new OnnxEvaluator(onnx!, data, new OnnxEvaluatorOptions
            {
                InputsTensor = parse.GetValue(_inputs)!,
                LabelsTensor = parse.GetValue(_labels)!,
                BatchSize = parse.GetValue(_batch),
                NameMap = mapPath is null ? null : OnnxNameMap.Load(mapPath),
                UseCuda = parse.GetValue(_cuda),
            });
            return (evaluator, data);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }
}
