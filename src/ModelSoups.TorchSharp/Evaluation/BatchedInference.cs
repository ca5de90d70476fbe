using ModelSoups.Evaluation;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Evaluation;

/// <summary>Runs a module in eval mode over a whole dataset, in order, and collects logits and labels.</summary>
public static class BatchedInference
{
    /// <summary>Row-major logits [Count × classes] and the labels, without gradient, the module left in eval mode.</summary>
    public static (float[] Logits, int[] Labels) Run(nn.Module<Tensor, Tensor> model, ModelSpec spec, ImageDataset data,
        int batchSize = 256, CancellationToken cancel = default)
    {
        model.eval();
        using var _ = no_grad();
        var logits = new float[(long)data.Count * spec.Classes];
        var labels = new int[data.Count];
        var indices = Enumerable.Range(0, data.Count).ToArray();
        for (int start = 0; start < data.Count; start += batchSize)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int n = Math.Min(batchSize, data.Count - start);
            var (x, y) = data.Batch(indices.AsSpan(start, n));
            var output = model.call(spec.Prepare(x)).to(ScalarType.Float32).contiguous();
            if (output.dim() != 2 || output.shape[1] != spec.Classes)
                throw new ModelSoupsException($"the model gives outputs of shape [{string.Join(", ", output.shape)}], not [N, {spec.Classes}]");
            output.data<float>().CopyTo(logits.AsSpan(start * spec.Classes, n * spec.Classes));
            for (int i = 0; i < n; i++) labels[start + i] = data.Labels[start + i];
        }
        return (logits, labels);
    }

    /// <summary>Top-1 accuracy, top-5 and loss of the module on the dataset (see <see cref="ClassificationMetrics"/>).</summary>
    public static EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, ModelSpec spec, ImageDataset data, int batchSize = 256, CancellationToken cancel = default)
    {
        var (logits, labels) = Run(model, spec, data, batchSize, cancel);
        return ClassificationMetrics.Compute(logits, labels, spec.Classes);
    }
}
