using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// Fits only the final linear layer on frozen features (a linear probe). Wortsman et al. 2022 start every
/// fine-tune of a soup from the same linear-probed model (LP-FT, Kumar et al. 2022), so the new head does
/// not wreck the pretrained features in the first steps. Features are computed once, in eval mode.
/// </summary>
public static class LinearProbe
{
    /// <summary>
    /// Trains the head of <paramref name="model"/> for <paramref name="steps"/> AdamW steps (cosine decay, no weight decay)
    /// on the features of at most <paramref name="maxImages"/> training images. Returns the mean loss of the last 10 % of steps.
    /// </summary>
    public static double Fit(nn.Module<Tensor, Tensor> model, ModelSpec spec, ImageDataset train, int steps,
        int batchSize = 256, double learningRate = 1e-3, int maxImages = 10_000, ulong seed = 0, Action<TrainingProgress>? progress = null,
        CancellationToken cancel = default)
    {
        if (model is not IFeatureClassifier classifier)
            throw new ModelSoupsException($"a linear probe needs a model with a separate head; {spec.Architecture} has none");
        if (steps <= 0) return double.NaN;
        TorchRuntime.UseAllCores();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var data = train.Sample(maxImages, seed);

        // Frozen features, once.
        model.eval();
        Tensor features, labels;
        using (no_grad())
        {
            var parts = new List<Tensor>();
            var all = Enumerable.Range(0, data.Count).ToArray();
            for (int start = 0; start < data.Count; start += 256)
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var (x, _) = data.Batch(all.AsSpan(start, Math.Min(256, data.Count - start)));
                parts.Add(classifier.Features(spec.Prepare(x)).MoveToOuterDisposeScope());
            }
            features = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            labels = tensor(data.Labels.Select(l => (long)l).ToArray());
        }

        using (features)
        using (labels)
        {
            manual_seed(unchecked((long)seed));
            var head = classifier.Head;
            using var optimizer = new AdamW(head.parameters(), lr: learningRate);
            double tail = 0;
            int tailCount = 0, tailStart = steps - Math.Max(1, steps / 10);
            using var batches = DataOrder.Batches(data.Count, Math.Min(batchSize, data.Count), seed).GetEnumerator();
            for (int step = 0; step < steps; step++)
            {
                cancel.ThrowIfCancellationRequested();
                double lr = LearningRateSchedule.At(step, steps, learningRate, 0, "cosine");
                optimizer.LearningRate = lr;
                batches.MoveNext();
                using var scope = NewDisposeScope();
                using var index = tensor(batches.Current.Select(i => (long)i).ToArray());
                var loss = nn.functional.cross_entropy(head.call(features.index_select(0, index)), labels.index_select(0, index));
                optimizer.ZeroGrad();
                loss.backward();
                optimizer.Step();
                double value = loss.item<float>();
                if (step >= tailStart) { tail += value; tailCount++; }
                if ((step + 1) % 10 == 0 || step + 1 == steps)
                    progress?.Invoke(new TrainingProgress(step + 1, steps, value, lr, clock.Elapsed));
            }
            return tail / tailCount;
        }
    }
}
