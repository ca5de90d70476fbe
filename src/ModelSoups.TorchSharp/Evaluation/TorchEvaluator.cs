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
/// Evaluates candidates in process with TorchSharp: one module of the architecture is built once, each
/// candidate's tensors are loaded into it (<see cref="ModuleState.Load"/>), BatchNorm statistics are optionally
/// recalibrated on training batches (averaged statistics do not fit averaged weights), and the module is run over
/// the evaluation set. Score: top-1 accuracy; metrics: top-5, loss; per-example logits and labels are returned.
/// Candidates may be in memory or folders on disk. Not thread-safe: one evaluation at a time.
/// </summary>
public sealed class TorchEvaluator : IEvaluator, IDisposable
{
    readonly ModelSpec _spec;
    readonly nn.Module<Tensor, Tensor> _model;
    readonly ImageDataset _data;
    readonly ImageDataset? _calibration;
    readonly int _recalibrate, _batchSize;

    /// <param name="spec">The architecture of every candidate.</param>
    /// <param name="data">The evaluation examples.</param>
    /// <param name="dataDescription">Stable description of <paramref name="data"/> for the fingerprint.</param>
    /// <param name="calibration">Training data for BatchNorm recalibration (needed when <paramref name="recalibrateBatches"/> &gt; 0).</param>
    /// <param name="recalibrateBatches">Batches of recalibration before each evaluation; 0 for none.</param>
    /// <param name="batchSize">Batch size of evaluation and recalibration.</param>
    public TorchEvaluator(ModelSpec spec, ImageDataset data, string dataDescription, ImageDataset? calibration = null, int recalibrateBatches = 0, int batchSize = 256)
    {
        if (recalibrateBatches < 0) throw new ModelSoupsException("--recalibrate-bn must not be negative");
        if (recalibrateBatches > 0 && calibration is null) throw new ArgumentException("recalibration needs training data", nameof(calibration));
        if (batchSize < 1) throw new ModelSoupsException("the batch size must be at least 1");
        if (data.Classes > spec.Classes || data.Channels != spec.Channels)
            throw new ModelSoupsException($"the model ({spec.Describe()}) does not fit the data ({data.Classes} classes, {data.Channels} channel(s))", data.Source);
        TorchRuntime.UseAllCores();
        _spec = spec; _data = data; _calibration = calibration; _recalibrate = recalibrateBatches; _batchSize = batchSize;
        _model = spec.Create();
        _model.eval();
        Description = $"torchsharp {spec.Describe()} on {dataDescription} ({data.Count} examples)" +
            (recalibrateBatches > 0 ? $" recalibrate-bn {recalibrateBatches}x{batchSize}" : "");
    }

    /// <summary>Builds the evaluator from CLI-style options: loads the data, picks the split, resolves the model.</summary>
    public static TorchEvaluator FromOptions(TorchEvaluatorOptions o)
    {
        var splits = DatasetSplits.Load(o.Data);
        var data = o.Split switch
        {
            "heldout" => splits.HeldOut,
            "test" => splits.Test ?? throw new ModelSoupsException($"this dataset has no test split; give a folder with {DatasetSplits.TestFileName} or use --eval-split heldout", o.Data),
            _ => throw new ModelSoupsException($"--eval-split must be heldout or test, not '{o.Split}'"),
        };
        if (o.Limit is { } limit)
        {
            if (limit < 1) throw new ModelSoupsException("the evaluation limit must be at least 1");
            data = data.Sample(limit, DatasetSplits.DefaultSplitSeed);
        }
        var spec = ModelSpec.IsPath(o.Model)
            ? ModelSpec.Read(o.Model)
            : ModelSpec.ForArchitecture(o.Model, splits.Train.Classes, splits.Train.Channels, Math.Max(splits.Train.Height, splits.Train.Width), o.ImageSize);
        return new TorchEvaluator(spec, data, $"{splits.Description} split {o.Split}" + (o.Limit is { } l ? $" limit {l}" : ""),
            o.RecalibrateBatches > 0 ? splits.Train : null, o.RecalibrateBatches, o.BatchSize);
    }

    /// <inheritdoc/>
    public string Description { get; }
    /// <inheritdoc/>
    public bool NeedsFolder => false;
    /// <inheritdoc/>
    public bool ProvidesLogits => true;
    /// <summary>The architecture evaluated.</summary>
    public ModelSpec Spec => _spec;

    /// <inheritdoc/>
    public EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ICheckpoint? opened = null;
        try
        {
            var checkpoint = candidate.Checkpoint ?? (opened = Checkpoint.Open(candidate.RequireFolder("TorchSharp")));
            try
            {
                ModuleState.Load(_model, checkpoint);
            }
            catch (ModelSoupsException e) when (e is not EvaluationException)
            {
                throw new EvaluationException(candidate.Name, $"candidate '{candidate.Name}' does not fit {_spec.Architecture}: {e.Message}", e.Path, e);
            }
        }
        finally
        {
            opened?.Dispose();
        }
        if (_recalibrate > 0)
            BatchNormRecalibration.Run(_model, _calibration!, _recalibrate, _batchSize, seed: 0, _spec.Prepare);
        var (logits, labels) = BatchedInference.Run(_model, _spec, _data, _batchSize, cancellationToken);
        return ClassificationMetrics.Compute(logits, labels, _spec.Classes);
    }

    /// <summary>Releases the module.</summary>
    public void Dispose() => _model.Dispose();
}
