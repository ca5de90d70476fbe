using ModelSoups.TorchSharp.Data;
using TorchSharp;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// Re-estimates BatchNorm running statistics of a model whose weights were averaged (the averaged statistics
/// do not describe the averaged network's activations; cf. SWA's bn_update and REPAIR). As PyTorch recommends
/// for recalibration: reset the statistics and <c>num_batches_tracked</c>, use a cumulative average
/// (momentum None: factor 1/k at the k-th batch) over N training batches run in train mode without gradient,
/// then restore each layer's momentum and leave the model in eval mode. Weights are not touched.
/// </summary>
public static class BatchNormRecalibration
{
    /// <summary>
    /// Recalibrates every BatchNorm layer (<see cref="ScalarSafeBatchNorm2d"/>) of <paramref name="module"/> on <paramref name="batches"/> batches of
    /// <paramref name="batchSize"/> images drawn (seeded) from <paramref name="dataset"/>; <paramref name="prepare"/>
    /// turns a data batch into model input (e.g. <see cref="Models.ModelSpec.Prepare"/>). Returns the number of layers.
    /// </summary>
    public static int Run(nn.Module<Tensor, Tensor> module, ImageDataset dataset, int batches, int batchSize, ulong seed,
        Func<Tensor, Tensor>? prepare = null)
    {
        if (batches < 1) throw new ArgumentOutOfRangeException(nameof(batches), "at least one batch");
        // TorchSharp's modules() lists the descendants only (PyTorch includes the module itself).
        var layers = module.modules().Prepend(module).OfType<ScalarSafeBatchNorm2d>().Distinct().ToList();
        if (layers.Count == 0) return 0;
        var saved = layers.Select(b => b.Momentum).ToList();
        // Explicit Scalar kept alive by `using` (implicit conversions are left to the finalizer; dotnet/TorchSharp#1434).
        using var one = 1.ToScalar();
        using (no_grad())
        {
            foreach (var bn in layers)
            {
                bn.running_mean.zero_();
                bn.running_var.fill_(one);
                bn.num_batches_tracked.zero_();
            }
            module.train();
            try
            {
                using var order = DataOrder.Batches(dataset.Count, Math.Min(batchSize, dataset.Count), seed).GetEnumerator();
                for (int k = 1; k <= batches; k++)
                {
                    // Cumulative moving average: after batch k the statistic is the mean of the k batch statistics.
                    foreach (var bn in layers) bn.Momentum = 1.0 / k;
                    order.MoveNext();
                    using var scope = NewDisposeScope();
                    var (x, _) = dataset.Batch(order.Current);
                    module.call(prepare is null ? x : prepare(x));
                }
            }
            finally
            {
                for (int i = 0; i < layers.Count; i++) layers[i].Momentum = saved[i];
                module.eval();
            }
        }
        return layers.Count;
    }
}
