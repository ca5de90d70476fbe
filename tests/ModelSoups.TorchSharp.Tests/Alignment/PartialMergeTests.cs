using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Tests.Alignment.AlignmentFixtures;

namespace ModelSoups.TorchSharp.Tests.Alignment;

public class PartialMergeTests
{
    static (LayerChain Chain, PermutationSpec Spec, Dictionary<string, Tensor> A, Dictionary<string, Tensor> B, double[][] Scores) Pair(ModelSpec modelSpec, long seedA = 30, long seedB = 31)
    {
        using var a = Model(modelSpec, seedA);
        using var b = Model(modelSpec, seedB);
        var chain = LayerChain.For(modelSpec);
        var sa = StateTensors.Of(a);
        var sb = StateTensors.Of(b);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(sb));
        var corr = ActivationMatching.Correlations(chain, sa, sb, [Inputs(40, 64)]);
        var perm = corr.Select(ModelSoups.Assignment.LinearAssignment.Maximize).ToArray();
        var aligned = spec.Apply(sb, perm);
        var scores = ActivationMatching.Correlations(chain, sa, aligned, [Inputs(40, 64)])
            .Select(c => Enumerable.Range(0, c.GetLength(0)).Select(i => c[i, i]).ToArray()).ToArray();
        return (chain, spec, sa, aligned, scores);
    }

    static int Inputs0(ModelSpec s) => s.Architecture == ModelSpec.MlpName ? 64 : 1;

    [Theory]
    [InlineData(ModelSpec.MlpName)]
    [InlineData(ModelSpec.Cnn)]
    public void BudgetOneIsAveragingAndEveryBudgetLoadsAtItsWidths(string architecture)
    {
        var modelSpec = Spec(architecture);
        var (chain, spec, a, b, scores) = Pair(modelSpec);
        var head = MergePlan.HeadPlan(LabelSpace.Shared, 4, 4);
        var one = PartialMatching.Plan(chain, spec, scores, 1.0, Inputs0(modelSpec), head, LabelSpace.Shared);
        Assert.All(one.Groups, g => Assert.Empty(g.KeptA));
        var averaged = MergedState.Build(chain, spec, one, a, b);
        foreach (var (name, t) in a.Where(p => !p.Key.EndsWith("num_batches_tracked")))
            Assert.True(((t + b[name]) / 2 - averaged[name]).abs().max().item<float>() < 1e-6, name);

        var two = PartialMatching.Plan(chain, spec, scores, 2.0, Inputs0(modelSpec), head, LabelSpace.Shared);
        Assert.All(two.Groups, g => Assert.Empty(g.Merged));

        foreach (double budget in new[] { 1.0, 1.25, 1.5, 2.0 })
        {
            var plan = PartialMatching.Plan(chain, spec, scores, budget, Inputs0(modelSpec), head, LabelSpace.Shared);
            var merged = MergedState.Build(chain, spec, plan, a, b);
            var mergedSpec = plan.MergedSpec(modelSpec);
            using var module = mergedSpec.Create();   // soup-model.json's widths build a module the state fits
            StateTensors.Into(module, merged);
            long count = ChainParameters.Count(chain, Inputs0(modelSpec), plan);
            // The dense checkpoint holds the effective parameters plus the structural zeros, which are exactly 0 there.
            Assert.Equal(StateTensors.ParameterCount(merged), count + ChainParameters.StructuralZeros(chain, plan));
            long full = ChainParameters.Count(chain, Inputs0(modelSpec), one);
            Assert.Equal(StateTensors.ParameterCount(a), full);
            Assert.True(count <= budget * full);
            // Within one unit per layer: any group that still has a merged pair could not be widened by one more unit.
            for (int g = 0; g < plan.Groups.Count; g++)
            {
                if (plan.Groups[g].Merged.Length == 0) continue;
                var counts = plan.Groups.Select(UnitCounts.Of).ToArray();
                counts[g] = new UnitCounts(counts[g].Merged - 1, counts[g].KeptA + 1, counts[g].KeptB + 1);
                Assert.True(ChainParameters.Count(chain, Inputs0(modelSpec), counts, new UnitCounts(4, 0, 0)) > budget * full, $"group {g} at budget {budget}");
            }
        }
    }

    [Fact]
    public void SplitsTheWorstMatchedUnitsFirst()
    {
        var chain = LayerChain.Mlp(1);
        var spec = new PermutationSpec([new PermutationGroup("layers.1", 4, [new("layers.1.weight", 0), new("layers.3.weight", 1)])]);
        // 10 inputs, 4 hidden, 2 classes: full = 10·4+4 + 4·2+2 = 54; each split unit adds one hidden unit: its 10 input
        // weights, its bias and its 2 head weights = 13. Budget 1.5 → 81 ≥ 54 + 2·13 = 80 but < 93: the two worst pairs
        // (scores 0.1 and 0.2, units 2 and 0) are split. Nothing merged (budget 2) = 54 + 4·13 = 106 = 2·54 − 2 (head bias).
        var plan = PartialMatching.Plan(chain, spec, [[0.2, 0.9, 0.1, 0.5]], 1.5, 10, MergePlan.HeadPlan(LabelSpace.Shared, 2, 2), LabelSpace.Shared);
        Assert.Equal([1, 3], plan.Groups[0].Merged);
        Assert.Equal([0, 2], plan.Groups[0].KeptA);
        Assert.Equal(6, plan.Groups[0].Width);
        Assert.Equal(80, ChainParameters.Count(chain, 10, plan));
        var all = PartialMatching.Plan(chain, spec, [[0.2, 0.9, 0.1, 0.5]], 2.0, 10, MergePlan.HeadPlan(LabelSpace.Shared, 2, 2), LabelSpace.Shared);
        Assert.Equal(106, ChainParameters.Count(chain, 10, all));
    }

    [Theory]
    [InlineData(0.99)]
    [InlineData(2.01)]
    [InlineData(double.NaN)]
    public void BudgetOutsideOneToTwoIsAUserError(double budget)
    {
        var e = Assert.Throws<ModelSoupsException>(() => PartialMatching.CheckBudget(budget));
        Assert.Contains("--budget", e.Message);
    }

    [Theory]
    [InlineData(ModelSpec.MlpName)]
    [InlineData(ModelSpec.Cnn)]
    public void LeastSquaresKeepsStructuralZerosExactly(string architecture)
    {
        var modelSpec = Spec(architecture);
        var (chain, spec, a, b, scores) = Pair(modelSpec);
        var plan = PartialMatching.Plan(chain, spec, scores, 1.5, Inputs0(modelSpec), MergePlan.HeadPlan(LabelSpace.Separate, 4, 4), LabelSpace.Separate);
        var merged = MergedState.Build(chain, spec, plan, a, b);
        LayerwiseLeastSquares.Fit(chain, plan, a, b, merged, [Inputs(41, 64)], ridge: 1e-4);
        for (int l = 1; l < chain.Layers.Count; l++)
        {
            var output = l < plan.Groups.Count ? plan.Groups[l] : plan.Head;
            var (_, _, outClass) = output.Layout();
            var (_, _, inClass) = plan.Groups[l - 1].Layout();
            Assert.Contains(1, inClass);
            var w = merged[chain.Layers[l].Weight];
            for (int o = 0; o < outClass.Length; o++)
                for (int i = 0; i < inClass.Length; i++)
                    if (outClass[o] + inClass[i] == 3)   // (kept A, kept B) or (kept B, kept A)
                        Assert.Equal(0.0, w[o, i].abs().max().item<float>());
            Assert.True(w.abs().max().item<float>() > 0);
        }
    }

    [Theory]
    [InlineData(ModelSpec.MlpName, 1.0)]
    [InlineData(ModelSpec.MlpName, 1.5)]
    [InlineData(ModelSpec.Cnn, 1.0)]
    [InlineData(ModelSpec.Cnn, 1.5)]
    public void MergingAModelWithItselfReproducesItsFunction(string architecture, double budget)
    {
        // A with itself: every target is A's own feature, exactly reachable from the merged inputs, so least squares
        // must give back A's function (the noiseless case of the whole pipeline), whatever the budget.
        var modelSpec = Spec(architecture);
        using var module = Model(modelSpec, 50);
        var chain = LayerChain.For(modelSpec);
        var a = StateTensors.Of(module);
        var data = Inputs(51, 256);
        // BatchNorm statistics that describe the data, as after training (the merged model re-estimates its own).
        for (int l = 0; l < chain.Layers.Count; l++)
            if (chain.Layers[l].BatchNorm is { } bn) LayerwiseLeastSquares.EstimateStatistics(chain, a, [data], l, bn);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(a));
        var scores = spec.Groups.Select((g, i) => Enumerable.Range(0, g.Size).Select(j => (double)j).ToArray()).ToArray();
        var plan = PartialMatching.Plan(chain, spec, scores, budget, Inputs0(modelSpec), MergePlan.HeadPlan(LabelSpace.Shared, 4, 4), LabelSpace.Shared);
        var merged = MergedState.Build(chain, spec, plan, a, a);
        foreach (var l in chain.Layers) merged[l.Weight] = zeros_like(merged[l.Weight]);
        LayerwiseLeastSquares.Fit(chain, plan, a, a, merged, [data], ridge: 1e-9);
        var x = Inputs(52, 16);
        using var _ = no_grad();
        var expected = chain.Forward(a, x);
        var diff = MaxAbsDifference(expected, chain.Forward(merged, x));
        Assert.True(diff < 1e-3 * Math.Max(1, expected.abs().max().item<float>()), $"max difference {diff}");
    }
}
