using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Training;

public class BatchNormRecalibrationTests
{
    [Fact]
    public void Changes_running_stats_not_weights_and_leaves_eval_mode()
    {
        manual_seed(3);
        using var cnn = new SmallCnn(1, 4, width: 4);
        var before = ModuleState.Export(cnn).ToDictionary(t => t.Info.Name, t => t.Data);
        var data = SyntheticImages.Create(64, 2);
        int layers = BatchNormRecalibration.Run(cnn, data, batches: 3, batchSize: 16, seed: 0);
        Assert.Equal(2, layers);
        Assert.False(cnn.training);
        var after = ModuleState.Export(cnn).ToDictionary(t => t.Info.Name, t => t.Data);
        foreach (var (name, bytes) in before)
        {
            bool isStat = name.Contains("running_") || name.Contains("num_batches_tracked");
            Assert.True(isStat != bytes.AsSpan().SequenceEqual(after[name]), $"{name} {(isStat ? "did not change" : "changed")}");
        }
        Assert.Equal(3L, BitConverter.ToInt64(after["bn1.num_batches_tracked"]));
        // Momentum is restored.
        Assert.All(cnn.modules().OfType<ScalarSafeBatchNorm2d>(), b => Assert.Equal(0.1, b.Momentum));
    }

    [Fact]
    public void Running_mean_is_the_cumulative_average_of_batch_means()
    {
        // One BatchNorm on raw pixels: after recalibration its running mean is the mean of the batch means.
        using var bn = new ScalarSafeBatchNorm2d(1);
        using (no_grad()) { bn.running_mean.fill_(5f); bn.running_var.fill_(9f); }
        var data = SyntheticImages.Create(30, 4);
        BatchNormRecalibration.Run(bn, data, batches: 3, batchSize: 10, seed: 7);
        // The same three batches, in the same order.
        using var order = DataOrder.Batches(30, 10, 7).GetEnumerator();
        double expected = 0;
        for (int k = 0; k < 3; k++)
        {
            order.MoveNext();
            var (x, _) = data.Batch(order.Current);
            expected += x.mean().item<float>() / 3.0;
        }
        Assert.Equal(expected, bn.running_mean.item<float>(), 5);
        Assert.Equal(3L, bn.num_batches_tracked.item<long>());
    }
}
