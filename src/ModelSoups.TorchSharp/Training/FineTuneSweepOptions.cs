using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Training;

/// <summary>Settings of <see cref="FineTuneSweep.Run"/> (the library side of <c>soup finetune</c>).</summary>
public sealed record FineTuneSweepOptions
{
    /// <summary><c>resnet18-imagenet</c>, <c>cnn</c>, <c>mlp</c>, or a checkpoint folder with <c>soup-model.json</c>.</summary>
    public required string Model { get; init; }
    /// <summary><c>fashion-mnist</c>, a dataset <c>.safetensors</c> file or a folder (see <see cref="DatasetSplits.Load"/>).</summary>
    public required string Data { get; init; }
    /// <summary>The runs (see <see cref="Sweep"/>).</summary>
    public required IReadOnlyList<SweepRun> Runs { get; init; }
    /// <summary>Output folder: <c>_init/</c> and one folder per run.</summary>
    public required string Out { get; init; }
    /// <summary>Train on a seeded sample of this many images, and measure on at most this many held-out ones.</summary>
    public int? Subset { get; init; }
    /// <summary>Every run takes exactly this many steps (overrides epochs/steps of the sweep).</summary>
    public int? Steps { get; init; }
    /// <summary>Model input side (default: 32 for the ResNet, the data's side otherwise).</summary>
    public int? ImageSize { get; init; }
    /// <summary>Seed of the new head / fresh model and of the linear probe.</summary>
    public ulong Seed { get; init; }
    /// <summary>Linear-probe steps for the common start (default: 200 for resnet18-imagenet, 0 otherwise).</summary>
    public int? LinearProbeSteps { get; init; }
    /// <summary>
    /// Before the linear probe, re-estimate the pretrained model's BatchNorm statistics on this many training batches
    /// (AdaBN, Li et al. 2016; 0: keep the pretrained statistics). Fine-tuning runs BatchNorm in train mode on this data,
    /// so a head fitted on features under ImageNet statistics no longer fits once training starts.
    /// </summary>
    public int RecalibrateBeforeProbe { get; init; }
    /// <summary>Training-curve resolution.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>
    /// Where the runs train: null trains them one after another in this process; otherwise each run not yet
    /// finished is one <see cref="Execution.WorkUnit"/> (result: its <c>ingredient.json</c>) given to this executor
    /// (local processes, Slurm), which runs <see cref="WorkerArguments"/> — this same sweep with <see cref="OnlyRun"/>.
    /// The common start is always made here first. Executor state (scripts, logs, job records) goes to <c>OUT/work/</c>.
    /// </summary>
    public Execution.IExecutor? Executor { get; init; }
    /// <summary>With <see cref="Executor"/>: the <c>soup</c> arguments that train one run (required then).</summary>
    public Func<SweepRun, IReadOnlyList<string>>? WorkerArguments { get; init; }
    /// <summary>With <see cref="Executor"/>: its progress reports.</summary>
    public Action<Execution.ExecutionProgress>? ExecutionProgress { get; init; }
    /// <summary>Train only the run of this name (what a worker does); the common start must already exist.</summary>
    public string? OnlyRun { get; init; }
}
