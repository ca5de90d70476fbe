using ModelSoups.TorchSharp.Alignment;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Alignment;

public class LeastSquaresTests
{
    [Fact]
    public void MaskedRidgeRecoversNoiselessWeightsAndKeepsMaskedRowsExactlyZero()
    {
        manual_seed(1);
        var x = randn([200, 6], ScalarType.Float64);
        var w = randn([6, 3], ScalarType.Float64);
        var y = x.matmul(w);
        var all = Enumerable.Repeat(true, 6).ToArray();
        var solved = MaskedRidge.Solve(x.t().matmul(x), x.t().matmul(y), all, ridge: 0);
        Assert.True((solved - w).abs().max().item<double>() < 1e-8);

        // With features 1 and 4 forbidden the rows are exactly 0 and the rest is the least-squares fit on the others
        // (checked against the normal equations on the reduced design, solved independently with linalg.lstsq).
        bool[] allowed = [true, false, true, true, false, true];
        var masked = MaskedRidge.Solve(x.t().matmul(x), x.t().matmul(y), allowed, ridge: 0);
        Assert.Equal(0.0, masked[1].abs().max().item<double>());
        Assert.Equal(0.0, masked[4].abs().max().item<double>());
        var keep = tensor(new long[] { 0, 2, 3, 5 });
        var reference = linalg.lstsq(x.index_select(1, keep), y).Solution;
        Assert.True((masked.index_select(0, keep) - reference).abs().max().item<double>() < 1e-8);
    }

    [Fact]
    public void RidgeShrinksTowardsZero()
    {
        manual_seed(2);
        var x = randn([50, 4], ScalarType.Float64);
        var y = x.matmul(randn([4, 2], ScalarType.Float64));
        var all = Enumerable.Repeat(true, 4).ToArray();
        double Norm(double ridge) => MaskedRidge.Solve(x.t().matmul(x), x.t().matmul(y), all, ridge).norm().item<double>();
        Assert.True(Norm(10) < Norm(0.1));
        Assert.True(Norm(0.1) < Norm(0) + 1e-12);
        Assert.Throws<ModelSoupsException>(() => MaskedRidge.Solve(x.t().matmul(x), x.t().matmul(y), all, -1));
    }

    [Theory]
    [InlineData(LabelSpace.Shared)]
    [InlineData(LabelSpace.Separate)]
    public void LinearLayerWithNoiselessTargetsRecoversTheTrueWeights(LabelSpace labelSpace)
    {
        // One Linear layer: the targets are ½(W_A x + b_A + W_B x + b_B) (shared head) or [W_A x + b_A; W_B x + b_B]
        // (separate heads), both exactly linear in x, so least squares must return ½(W_A + W_B) or the stacked weights.
        var chain = new LayerChain([new ChainLayer("fc", ChainLayerKind.Linear, true, null, false, ChainPooling.None)], flattenInput: true);
        manual_seed(3);
        var a = new Dictionary<string, Tensor> { ["fc.weight"] = randn([3, 10]), ["fc.bias"] = randn(3) };
        var b = new Dictionary<string, Tensor> { ["fc.weight"] = randn([3, 10]), ["fc.bias"] = randn(3) };
        var spec = new PermutationSpec([]);
        var plan = MergePlan.AllMerged(spec, labelSpace, 3, 3);
        var merged = MergedState.Build(chain, spec, plan, a, b);
        merged["fc.weight"] = zeros_like(merged["fc.weight"]);  // least squares must not depend on the start
        LayerwiseLeastSquares.Fit(chain, plan, a, b, merged, [randn([100, 1, 2, 5])], ridge: 0);
        var (expectedW, expectedB) = labelSpace == LabelSpace.Shared
            ? ((a["fc.weight"] + b["fc.weight"]) / 2, (a["fc.bias"] + b["fc.bias"]) / 2)
            : (cat([a["fc.weight"], b["fc.weight"]], 0), cat([a["fc.bias"], b["fc.bias"]], 0));
        Assert.True((merged["fc.weight"] - expectedW).abs().max().item<float>() < 1e-5);
        Assert.True((merged["fc.bias"] - expectedB).abs().max().item<float>() < 1e-5);
        if (labelSpace == LabelSpace.Separate) Assert.Equal([6, 10], merged["fc.weight"].shape);
    }
}
