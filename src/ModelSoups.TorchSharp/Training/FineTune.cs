using System.Diagnostics;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// The fine-tuning loop, top to bottom in one place (in the spirit of nanoGPT's train.py): data order,
/// augmentation, forward, label-smoothed cross-entropy, backward, optimizer step with a warm-up + decay
/// schedule, a training curve, then held-out accuracy. Deterministic for a data seed on a given machine:
/// torch's generator is seeded with it and the data order and augmentation come from <see cref="SplitMix64"/>.
/// </summary>
public static class FineTune
{
    /// <summary>
    /// Trains <paramref name="model"/> in place on <paramref name="train"/> with <paramref name="hp"/>, then measures it
    /// on <paramref name="heldOut"/> (null: not measured here, <see cref="TrainingResult.HeldOut"/> is NaN; for callers
    /// that evaluate every set afterwards and should report one held-out figure, not two of the same thing). The loss is logged as a mean every <paramref name="logEvery"/> steps.
    /// <paramref name="afterBackward"/> runs between backward and the optimizer step, <paramref name="afterStep"/> after
    /// each step (sparse retraining uses them to zero masked gradients and re-apply the mask).
    /// </summary>
    public static TrainingResult Run(nn.Module<Tensor, Tensor> model, ModelSpec spec, ImageDataset train, ImageDataset? heldOut,
        TrainingHyperparameters hp, int logEvery = 10, Action<TrainingProgress>? progress = null, CancellationToken cancel = default,
        Action? afterBackward = null, Action? afterStep = null)
    {
        TorchRuntime.UseAllCores();
        var clock = Stopwatch.StartNew();

        // ---- the run's settings ------------------------------------------------------------
        int batchSize = Math.Min(hp.BatchSize, train.Count);
        int totalSteps = hp.Steps ?? hp.Epochs * DataOrder.StepsPerEpoch(train.Count, batchSize);
        var augmentation = AugmentationStrength.For(hp.Augmentation, Math.Min(train.Height, train.Width));
        manual_seed(unchecked((long)hp.DataSeed));

        // ---- optimizer: decoupled weight decay (AdamW) or SGD with momentum ----------------------
        var parameters = model.parameters().ToList();
        using IOptimizer optimizer = hp.Optimizer switch
        {
            "adamw" => new AdamW(parameters, lr: hp.LearningRate, weightDecay: hp.WeightDecay),
            "sgd" => new SgdMomentum(parameters, hp.LearningRate, momentum: hp.Momentum, weightDecay: hp.WeightDecay),
            _ => throw new ModelSoupsException($"unknown optimizer '{hp.Optimizer}'; use adamw or sgd"),
        };

        // ---- the loop ------------------------------------------------------------------------
        var curve = new List<TrainingCurvePoint>();
        double lossSum = 0;
        int lossCount = 0;
        bool diverged = false;
        model.train();
        using var batches = DataOrder.Batches(train.Count, batchSize, hp.DataSeed).GetEnumerator();
        for (int step = 0; step < totalSteps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            double lr = LearningRateSchedule.At(step, totalSteps, hp.LearningRate, hp.Warmup, hp.Schedule);
            optimizer.LearningRate = lr;

            batches.MoveNext();
            using var scope = NewDisposeScope();
            var (images, labels) = train.Batch(batches.Current);
            images = augmentation.Apply(images, hp.DataSeed ^ ((ulong)step * 0xD1B54A32D192ED03UL));
            var logits = model.call(spec.Prepare(images));
            var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: hp.LabelSmoothing);

            optimizer.ZeroGrad();
            loss.backward();
            afterBackward?.Invoke();
            optimizer.Step();
            afterStep?.Invoke();

            double value = loss.item<float>();
            if (!double.IsFinite(value)) diverged = true;
            lossSum += value;
            lossCount++;
            if ((step + 1) % logEvery == 0 || step + 1 == totalSteps)
            {
                curve.Add(new TrainingCurvePoint(step + 1, lossSum / lossCount, lr));
                progress?.Invoke(new TrainingProgress(step + 1, totalSteps, lossSum / lossCount, lr, clock.Elapsed));
                lossSum = 0;
                lossCount = 0;
            }
        }

        // ---- held-out accuracy ---------------------------------------------------------------
        var measured = heldOut is null ? null : BatchedInference.Evaluate(model, spec, heldOut, cancel: cancel);
        return new TrainingResult
        {
            Curve = curve,
            HeldOut = measured?.Score ?? double.NaN,
            HeldOutLoss = measured?.Metrics["loss"] ?? double.NaN,
            Steps = totalSteps,
            TrainImages = train.Count,
            Seconds = clock.Elapsed.TotalSeconds,
            Diverged = diverged,
        };
    }
}
