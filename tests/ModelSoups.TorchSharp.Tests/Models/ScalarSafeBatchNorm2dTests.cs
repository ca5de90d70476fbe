using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Models;

/// <summary><see cref="ScalarSafeBatchNorm2d"/> against TorchSharp's nn.BatchNorm2d, and the goldens of <see cref="BatchNormTests"/>.</summary>
public class ScalarSafeBatchNorm2dTests
{
    [Theory]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void Train_and_eval_match_nn_BatchNorm2d_over_several_steps(double momentum)
    {
        manual_seed(5);
        using var ours = new ScalarSafeBatchNorm2d(3, momentum: momentum);
        using var reference = nn.BatchNorm2d(3, momentum: momentum);
        using (no_grad())
        {
            using var w = rand(3);
            using var b = randn(3);
            ours.weight.copy_(w); reference.weight!.copy_(w);
            ours.bias.copy_(b); reference.bias!.copy_(b);
        }
        ours.train();
        reference.train();
        for (int step = 0; step < 4; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(5, 3, 4, 4) * tensor(2f + step) + tensor((float)step);
            var xa = x.detach().requires_grad_(true);
            var xb = x.detach().requires_grad_(true);
            var ya = ours.call(xa);
            var yb = reference.call(xb);
            AssertClose(yb, ya, "train output");
            // Gradients flow as through ATen's batch_norm.
            using var g = randn(5, 3, 4, 4);
            (ya * g).sum().backward();
            (yb * g).sum().backward();
            AssertClose(xb.grad!, xa.grad!, "input gradient");
            AssertClose(reference.weight!.grad!, ours.weight.grad!, "weight gradient");
            AssertClose(reference.running_mean!, ours.running_mean, "running_mean");
            AssertClose(reference.running_var!, ours.running_var, "running_var");
            Assert.Equal(reference.num_batches_tracked!.item<long>(), ours.num_batches_tracked.item<long>());
        }
        ours.eval();
        reference.eval();
        using var test = randn(6, 3, 2, 2) * tensor(3f);
        using var before = ours.running_mean.clone();
        using var ea = ours.call(test);
        using var eb = reference.call(test);
        AssertClose(eb, ea, "eval output");
        Assert.Equal(before.data<float>().ToArray(), ours.running_mean.data<float>().ToArray());
        Assert.Equal(4L, ours.num_batches_tracked.item<long>());
    }

    [Fact]
    public void Train_mode_golden_numbers()
    {
        using var bn = new ScalarSafeBatchNorm2d(1);
        bn.train();
        using var x = tensor(new[] { 1f, 2f, 3f, 6f }).reshape(4, 1, 1, 1); // mean 3, unbiased var 14/3
        using var y = bn.call(x);
        Assert.Equal(0.1f * 3f, bn.running_mean.item<float>(), 6);
        Assert.Equal(0.9f + 0.1f * 14f / 3f, bn.running_var.item<float>(), 6);
        Assert.Equal(1L, bn.num_batches_tracked.item<long>());
        Assert.Equal((1f - 3f) / MathF.Sqrt(3.5f + 1e-5f), y[0].item<float>(), 5);
    }

    [Fact]
    public void Eval_mode_golden_numbers()
    {
        using var bn = new ScalarSafeBatchNorm2d(1);
        using (no_grad()) { bn.running_mean.fill_(2f); bn.running_var.fill_(4f); }
        bn.eval();
        using var x = tensor(new[] { 4f, 10f }).reshape(2, 1, 1, 1);
        using var y = bn.call(x);
        Assert.Equal((4f - 2f) / MathF.Sqrt(4f + 1e-5f), y[0].item<float>(), 5);
        Assert.Equal(2f, bn.running_mean.item<float>());
        Assert.Equal(0L, bn.num_batches_tracked.item<long>());
    }

    [Fact]
    public void Null_momentum_is_the_cumulative_average()
    {
        // PyTorch momentum=None: factor 1/k at the k-th batch, so the running mean is the mean of the batch means.
        using var bn = new ScalarSafeBatchNorm2d(1, momentum: null);
        bn.train();
        float[] means = [1f, 4f, -2f];
        foreach (var m in means)
        {
            using var x = tensor(new[] { m - 1, m + 1 }).reshape(2, 1, 1, 1);
            using var _ = bn.call(x);
        }
        Assert.Equal(1f, bn.running_mean.item<float>(), 6);           // (1 + 4 − 2) / 3
        Assert.Equal(2f, bn.running_var.item<float>(), 6);            // unbiased var of each batch is 2
        Assert.Equal(3L, bn.num_batches_tracked.item<long>());
    }

    [Fact]
    public void State_dict_names_shapes_and_types_are_nn_BatchNorm2d_s()
    {
        using var ours = new ScalarSafeBatchNorm2d(7);
        using var reference = nn.BatchNorm2d(7);
        var a = ours.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape), kv.Value.dtype)).ToList();
        var b = reference.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape), kv.Value.dtype)).ToList();
        Assert.Equal(b, a);
        // And a checkpoint moves between the two.
        using (no_grad()) reference.running_var!.fill_(3f);
        ours.load_state_dict(reference.state_dict());
        Assert.Equal(3f, ours.running_var[0].item<float>());
        Assert.Equal(["weight", "bias"], ours.named_parameters().Select(p => p.name));
    }

    [Fact]
    public void Moving_to_another_dtype_keeps_names_and_the_layer_s_own_tensors()
    {
        // Module.to replaces every tensor through the property of its name; inside a parent (SmallCnn) the names must not change.
        using var cnn = new SmallCnn(1, 3, width: 2);
        var names = cnn.state_dict().Keys.ToList();
        cnn.to(ScalarType.Float64);
        Assert.Equal(names, cnn.state_dict().Keys.ToList());
        var bn = cnn.modules().OfType<ScalarSafeBatchNorm2d>().First();
        Assert.Equal(ScalarType.Float64, bn.weight.dtype);
        Assert.Equal(ScalarType.Float64, bn.running_var.dtype);
        Assert.Equal(ScalarType.Int64, bn.num_batches_tracked.dtype);
        Assert.Same(bn.weight, bn.named_parameters().First().parameter);
        bn.train();
        using var y = bn.call(ones(2, 2, 3, 3, dtype: ScalarType.Float64));
        Assert.Equal(1L, bn.state_dict()["num_batches_tracked"].item<long>());
    }

    static void AssertClose(Tensor want, Tensor got, string what)
    {
        var w = want.detach().contiguous().data<float>().ToArray();
        var g = got.detach().contiguous().data<float>().ToArray();
        Assert.Equal(w.Length, g.Length);
        for (int i = 0; i < w.Length; i++)
            Assert.True(Math.Abs(w[i] - g[i]) <= 1e-5 * Math.Max(1, Math.Abs(w[i])), $"{what}[{i}]: {g[i]} vs nn.BatchNorm2d {w[i]}");
    }
}
