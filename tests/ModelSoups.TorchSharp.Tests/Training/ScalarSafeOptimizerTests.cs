using ModelSoups.TorchSharp.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Training;

/// <summary>
/// Our <see cref="AdamW"/> and <see cref="SgdMomentum"/> against torch.optim's: two copies of a small model get the
/// same gradients (a regression loss on random data) for 20 steps with a changing learning rate, and end with the
/// same parameters to float rounding.
/// </summary>
public class ScalarSafeOptimizerTests
{
    [Theory]
    [InlineData(1e-3, 0.0)]
    [InlineData(1e-2, 0.05)]
    [InlineData(3e-2, 0.5)]
    public void AdamW_matches_torch_optim_AdamW(double lr, double weightDecay) =>
        AssertSameTrajectory(
            ps => new AdamW(ps, lr: lr, weightDecay: weightDecay),
            ps => optim.AdamW(ps, lr: lr, weight_decay: weightDecay), lr);

    [Theory]
    [InlineData(0.1, 0.0, 0.0)]
    [InlineData(0.05, 0.9, 0.0)]
    [InlineData(0.02, 0.9, 5e-4)]
    [InlineData(0.1, 0.5, 0.1)]
    public void Sgd_matches_torch_optim_SGD(double lr, double momentum, double weightDecay) =>
        AssertSameTrajectory(
            ps => new SgdMomentum(ps, lr, momentum: momentum, weightDecay: weightDecay),
            ps => optim.SGD(ps, lr, momentum: momentum, weight_decay: weightDecay), lr);

    [Fact]
    public void Sgd_first_step_uses_the_gradient_as_the_momentum_buffer()
    {
        // p = 1, loss = 3p: g = 3. Step 1: b = 3, p = 1 − 0.1·3 = 0.7. Step 2: b = 0.9·3 + 3 = 5.7, p = 0.7 − 0.57 = 0.13.
        using var p = new Parameter(ones(1));
        using var sgd = new SgdMomentum([p], 0.1, momentum: 0.9);
        for (int i = 0; i < 2; i++)
        {
            sgd.ZeroGrad();
            using var loss = (p * tensor(3f)).sum();
            loss.backward();
            sgd.Step();
        }
        Assert.Equal(0.13f, p.item<float>(), 6);
    }

    [Fact]
    public void AdamW_first_step_moves_each_weight_by_lr_after_decoupled_decay()
    {
        // Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε) ≈ lr·sign(g), after p·(1 − lr·wd).
        using var p = new Parameter(tensor(new[] { 2f, -1f }));
        using var adamw = new AdamW([p], lr: 0.1, weightDecay: 0.5);
        using var loss = (p * tensor(new[] { 4f, -0.5f })).sum();
        loss.backward();
        adamw.Step();
        var after = p.data<float>().ToArray();
        Assert.Equal(2f * 0.95f - 0.1f, after[0], 6);
        Assert.Equal(-1f * 0.95f + 0.1f, after[1], 6);
    }

    [Fact]
    public void A_parameter_without_a_gradient_is_left_alone()
    {
        using var used = new Parameter(ones(2));
        using var unused = new Parameter(ones(2));
        using var adamw = new AdamW([used, unused], lr: 0.1, weightDecay: 0.1);
        using var loss = used.sum();
        loss.backward();
        adamw.Step();
        Assert.Equal([1f, 1f], unused.data<float>().ToArray());
        Assert.NotEqual(1f, used.data<float>()[0]);
    }

    static void AssertSameTrajectory(Func<IEnumerable<Parameter>, IOptimizer> ours, Func<IEnumerable<Parameter>, optim.Optimizer> theirs, double lr)
    {
        manual_seed(42);
        using var a = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 2));
        using var b = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 2));
        b.load_state_dict(a.state_dict());
        using var mine = ours(a.parameters());
        using var reference = theirs(b.parameters());
        for (int step = 0; step < 20; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(8, 6);
            var y = randn(8, 2);
            double rate = lr * (1 + Math.Cos(Math.PI * step / 20)) / 2;  // a schedule, as training sets it
            mine.LearningRate = rate;
            foreach (var g in reference.ParamGroups) g.LearningRate = rate;

            mine.ZeroGrad();
            nn.functional.mse_loss(a.call(x), y).backward();
            mine.Step();
            reference.zero_grad();
            nn.functional.mse_loss(b.call(x), y).backward();
            reference.step();
        }
        foreach (var ((name, p), (_, q)) in a.named_parameters().Zip(b.named_parameters()))
        {
            var got = p.data<float>().ToArray();
            var want = q.data<float>().ToArray();
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - want[i]) <= 1e-6 * Math.Max(Math.Abs(want[i]), 1e-2),
                    $"{name}[{i}]: {got[i]} vs torch.optim {want[i]}");
        }
        // The runs really moved the weights (the comparison is not vacuous).
        manual_seed(42);
        using var initial = nn.Linear(6, 5);
        Assert.NotEqual(initial.weight!.data<float>().ToArray(), a.named_parameters().First().parameter.data<float>().ToArray());
    }
}
