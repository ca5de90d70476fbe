using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Models;

/// <summary>The BatchNorm behaviour soups depend on (running statistics, counters, train/eval), pinned with golden numbers.</summary>
public class BatchNormTests
{
    [Fact]
    public void Train_mode_updates_running_stats_with_momentum_and_counts_batches()
    {
        using var bn = nn.BatchNorm2d(1); // PyTorch defaults: momentum 0.1, eps 1e-5
        bn.train();
        using var x = tensor(new[] { 1f, 2f, 3f, 6f }).reshape(4, 1, 1, 1); // mean 3, unbiased var 14/3
        using var y = bn.call(x);
        Assert.Equal(0.1f * 3f, bn.running_mean!.item<float>(), 6);             // 0.9·0 + 0.1·3
        Assert.Equal(0.9f + 0.1f * 14f / 3f, bn.running_var!.item<float>(), 6); // 0.9·1 + 0.1·(14/3)
        Assert.Equal(1L, bn.num_batches_tracked!.item<long>());
        // Train mode normalises with the batch's own (biased) statistics: var 3.5.
        Assert.Equal((1f - 3f) / MathF.Sqrt(3.5f + 1e-5f), y[0].item<float>(), 5);
    }

    [Fact]
    public void Eval_mode_uses_running_stats_and_leaves_them_alone()
    {
        using var bn = nn.BatchNorm2d(1);
        using (no_grad()) { bn.running_mean!.fill_(2f); bn.running_var!.fill_(4f); }
        bn.eval();
        using var x = tensor(new[] { 4f, 10f }).reshape(2, 1, 1, 1);
        using var y = bn.call(x);
        Assert.Equal((4f - 2f) / MathF.Sqrt(4f + 1e-5f), y[0].item<float>(), 5);
        Assert.Equal(2f, bn.running_mean!.item<float>());
        Assert.Equal(0L, bn.num_batches_tracked!.item<long>());
    }
}
