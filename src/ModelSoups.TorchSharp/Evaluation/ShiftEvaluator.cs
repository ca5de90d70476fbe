using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using ModelSoups.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Evaluation;

/// <summary>
/// Evaluates checkpoints of one architecture on <see cref="ShiftEvaluationSets"/> (held-out, test, each shift) in
/// process, with one module built once. Averaged models get their BatchNorm statistics recalibrated first
/// (<see cref="Recalibrate"/>): averaged running statistics do not describe the averaged network. Used by the
/// soups demo and reusable by any demo that reports the paper's held-out / test / OOD numbers. One evaluation at a time.
/// </summary>
public sealed class ShiftEvaluator : IDisposable
{
    readonly nn.Module<Tensor, Tensor> _model;
    readonly ImageDataset? _calibration;
    readonly int _recalibrateBatches, _recalibrateBatchSize, _batchSize;

    /// <param name="spec">The architecture of every checkpoint.</param>
    /// <param name="sets">What to evaluate on.</param>
    /// <param name="calibration">Training data for BatchNorm recalibration (needed for <see cref="Recalibrate"/>).</param>
    /// <param name="recalibrateBatches">Recalibration batches.</param>
    /// <param name="recalibrateBatchSize">Images per recalibration batch.</param>
    /// <param name="batchSize">Batch size of evaluation.</param>
    public ShiftEvaluator(ModelSpec spec, ShiftEvaluationSets sets, ImageDataset? calibration = null, int recalibrateBatches = 0,
        int recalibrateBatchSize = 64, int batchSize = 256)
    {
        if (recalibrateBatches < 0 || recalibrateBatchSize < 1 || batchSize < 1) throw new ArgumentOutOfRangeException(nameof(recalibrateBatches));
        TorchRuntime.UseAllCores();
        Spec = spec; Sets = sets; _calibration = calibration; _recalibrateBatches = recalibrateBatches;
        _recalibrateBatchSize = recalibrateBatchSize; _batchSize = batchSize;
        _model = spec.Create();
        _model.eval();
    }

    /// <summary>The architecture.</summary>
    public ModelSpec Spec { get; }
    /// <summary>The evaluation sets.</summary>
    public ShiftEvaluationSets Sets { get; }

    /// <summary>
    /// Evaluates a checkpoint folder (with <c>soup-model.json</c>) on the sets: the one-call form for other demos.
    /// </summary>
    public static ShiftScores EvaluateFolder(string folder, ShiftEvaluationSets sets, ImageDataset? calibration = null, int recalibrateBatches = 0)
    {
        var spec = ModelSpec.Read(folder);
        using var evaluator = new ShiftEvaluator(spec, sets, calibration, recalibrateBatches);
        using var checkpoint = Checkpoint.Open(folder);
        return recalibrateBatches > 0 ? evaluator.Evaluate(evaluator.Recalibrate(checkpoint)) : evaluator.Evaluate(checkpoint);
    }

    /// <summary>
    /// The checkpoint with its BatchNorm statistics re-estimated on the calibration data (reset, then a cumulative
    /// average over the configured batches in train mode; <see cref="BatchNormRecalibration"/>); weights unchanged.
    /// </summary>
    public ICheckpoint Recalibrate(ICheckpoint checkpoint)
    {
        if (_recalibrateBatches == 0 || _calibration is null) throw new InvalidOperationException("this evaluator was made without recalibration data");
        ModuleState.Load(_model, checkpoint);
        BatchNormRecalibration.Run(_model, _calibration, _recalibrateBatches, _recalibrateBatchSize, seed: 0, Spec.Prepare);
        return ModuleState.ToCheckpoint(_model, checkpoint.Location + " (BatchNorm recalibrated)");
    }

    /// <summary>Accuracies (and logits) on every set, or on the held-out set alone with <paramref name="heldOutOnly"/>.</summary>
    public ShiftScores Evaluate(ICheckpoint checkpoint, bool heldOutOnly = false, CancellationToken cancel = default)
    {
        ModuleState.Load(_model, checkpoint);
        var results = new List<(string, EvaluationResult)> { ("heldout", Run(Sets.HeldOut, cancel)) };
        if (!heldOutOnly)
        {
            results.Add(("test", Run(Sets.Test, cancel)));
            foreach (var (name, data) in Sets.Shifts) results.Add((name, Run(data, cancel)));
        }
        return ShiftScores.From(results);
    }

    /// <summary>
    /// An <see cref="IEvaluator"/> for greedy soups: held-out accuracy, BatchNorm recalibrated first when
    /// <paramref name="recalibrate"/> (candidates are averages).
    /// </summary>
    public IEvaluator HeldOutEvaluator(bool recalibrate) => new DelegateEvaluator(
        $"torchsharp {Spec.Describe()} on {Sets.Description} split heldout" + (recalibrate ? $" recalibrate-bn {_recalibrateBatches}x{_recalibrateBatchSize}" : ""),
        (checkpoint, cancel) =>
        {
            var c = recalibrate ? Recalibrate(checkpoint) : checkpoint;
            ModuleState.Load(_model, c);
            return Run(Sets.HeldOut, cancel);
        }, providesLogits: true);

    EvaluationResult Run(ImageDataset data, CancellationToken cancel)
    {
        var (logits, labels) = BatchedInference.Run(_model, Spec, data, _batchSize, cancel);
        return ClassificationMetrics.Compute(logits, labels, Spec.Classes);
    }

    /// <summary>Releases the module.</summary>
    public void Dispose() => _model.Dispose();
}
