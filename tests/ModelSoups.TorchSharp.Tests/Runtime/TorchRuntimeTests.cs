using ModelSoups.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void Loads_and_a_seeded_mlp_learns_with_sgd()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(7);
        // Two Gaussian blobs in 4-D; a 4-16-2 MLP should separate them quickly.
        using var x0 = randn(64, 4) - 1.0;
        using var x1 = randn(64, 4) + 1.0;
        using var x = cat([x0, x1]);
        using var y = cat([zeros(64, dtype: int64), ones(64, dtype: int64)]);
        using var model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2));
        using var opt = optim.SGD(model.parameters(), 0.1);
        float first = 0, last = 0;
        for (int step = 0; step < 50; step++)
        {
            opt.zero_grad();
            using var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            opt.step();
            last = loss.item<float>();
            if (step == 0) first = last;
        }
        Assert.True(last < 0.5f * first, $"loss went from {first} to {last}");
    }
}
