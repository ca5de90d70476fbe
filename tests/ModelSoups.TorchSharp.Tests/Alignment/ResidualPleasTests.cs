using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Tests.Alignment.AlignmentFixtures;

namespace ModelSoups.TorchSharp.Tests.Alignment;

/// <summary>PLeaS's partial merging and least squares on a residual network (<see cref="TinyResNet"/>).</summary>
public class ResidualPleasTests
{
    static (ResidualMergeNetwork Net, PermutationSpec Spec) Network(ResNet18Classifier model)
    {
        var network = PermutableNetwork.FromResNet(model, StateTensors.Shapes(StateTensors.Of(model)));
        return ((ResidualMergeNetwork)network.Merge, network.Spec);
    }

    static double[][] Scores(PermutationSpec spec, int seed)
    {
        var random = new Random(seed);
        return spec.Groups.Select(g => Enumerable.Range(0, g.Size).Select(_ => random.NextDouble()).ToArray()).ToArray();
    }

    [Fact]
    public void MergeLayersReadAndWriteTheTracedGroups()
    {
        using var model = TinyResNet.Model(1);
        var (net, _) = Network(model);
        // 8 convolutions and the head; groups 0 stream 1, 1 block 1 inner, 2 stream 2, 3 block 2 inner, 4 block 3 inner.
        Assert.Equal([(-1, 0), (0, 1), (1, 0), (0, 2), (0, 3), (3, 2), (2, 4), (4, 2), (2, -1)],
            net.MergeLayers.Select(l => (l.InputGroup, l.OutputGroup)));
        Assert.Equal("backbone.short_bn_node", net.MergeLayers[3].BatchNorm);
        Assert.Equal([0L, 0, 0, 0], net.MergeLayers[3].Conv!.Padding.Concat(net.MergeLayers[3].Conv!.Kernel.Select(k => k - 1)));
        using var x = TinyResNet.Inputs(2);
        using var _ = no_grad();
        // The merge view's forward pass is the module's.
        Assert.True(MaxAbsDifference(model.call(x), net.Forward(StateTensors.Of(model), x)) < 1e-5);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    public void MergingAResNetWithItselfReproducesItsFunctionAtItsMergedWidths(double budget)
    {
        // A with itself: every convolution's target is A's own output, reachable from the merged inputs, so least squares gives
        // back A's function whatever the budget — through the residual Adds, the strided shortcut and the stem's asymmetric pads.
        using var module = TinyResNet.Model(50);
        var (net, spec) = Network(module);
        var a = StateTensors.Of(module);
        using var data = TinyResNet.Inputs(51, 256);
        for (int l = 0; l < net.MergeLayers.Count; l++)
            if (net.MergeLayers[l].BatchNorm is { } bn) LayerwiseLeastSquares.EstimateStatistics(net, a, [data], l, bn);
        var plan = PartialMatching.Plan(net, spec, Scores(spec, 1), budget, 3, MergePlan.HeadPlan(LabelSpace.Shared, 3, 3), LabelSpace.Shared);
        if (budget > 1) Assert.True(plan.Widths.Zip(spec.Groups, (w, g) => w - g.Size).Sum() >= 4, "the budget widens some groups");
        var merged = MergedState.Build(net, spec, plan, a, a);
        foreach (var l in net.MergeLayers) merged[l.Weight] = zeros_like(merged[l.Weight]);
        LayerwiseLeastSquares.Fit(net, plan, a, a, merged, [data], ridge: 1e-9);
        using var x = TinyResNet.Inputs(52, 16);
        using var _ = no_grad();
        var expected = net.Forward(a, x);
        var actual = net.Forward(merged, x);
        var diff = MaxAbsDifference(expected, actual);
        Assert.True(diff < 1e-3 * Math.Max(1, expected.abs().max().item<float>()), $"max difference {diff}");

        // The widened module (what soup-model.json's widths build) loads the merged state and computes the same.
        using var widened = ResNet18Classifier.Widened(TinyResNet.Onnx(50), 3, plan.Widths);
        StateTensors.Into(widened, merged);
        widened.eval();
        Assert.True(MaxAbsDifference(actual, widened.call(x)) < 1e-5);
    }

    [Fact]
    public void StructuralZerosHoldExactlyAcrossResidualStreamsAndTheBudgetIsMet()
    {
        using var ma = TinyResNet.Model(60);
        using var mb = TinyResNet.Model(61);
        var (net, spec) = Network(ma);
        var a = StateTensors.Of(ma);
        var b = StateTensors.Of(mb);
        using var data = TinyResNet.Inputs(62, 128);
        var aligned = spec.Apply(b, ActivationMatching.Match(PermutableNetwork.FromResNet(ma, StateTensors.Shapes(a)), a, b, [data]));
        var head = MergePlan.HeadPlan(LabelSpace.Shared, 3, 3);
        long one = ChainParameters.Count(net, 3, MergePlan.AllMerged(spec, LabelSpace.Shared, 3, 3));
        var plan = PartialMatching.Plan(net, spec, Scores(spec, 2), 1.5, 3, head, LabelSpace.Shared);
        long size = ChainParameters.Count(net, 3, plan);
        Assert.True(size <= 1.5 * one, $"{size} > 1.5 × {one}");
        // Within one unit of the budget: splitting any still-merged pair more would exceed it.
        for (int g = 0; g < spec.Groups.Count; g++)
        {
            if (plan.Groups[g].Merged.Length == 0) continue;
            var counts = plan.Groups.Select(UnitCounts.Of).ToList();
            counts[g] = new UnitCounts(counts[g].Merged - 1, counts[g].KeptA + 1, counts[g].KeptB + 1);
            Assert.True(ChainParameters.Count(net, 3, counts, UnitCounts.Of(head)) > 1.5 * one, $"group {g} could still be split");
        }
        var merged = MergedState.Build(net, spec, plan, a, aligned);
        LayerwiseLeastSquares.Fit(net, plan, a, aligned, merged, [data], ridge: 1e-4);
        int blocks = 0;
        foreach (var layer in net.MergeLayers.Where(l => l.InputGroup >= 0 && l.OutputGroup >= 0))
        {
            var outClass = plan.Groups[layer.OutputGroup].Layout().Class;
            var inClass = plan.Groups[layer.InputGroup].Layout().Class;
            var w = merged[layer.Weight];
            for (int o = 0; o < outClass.Length; o++)
                for (int i = 0; i < inClass.Length; i++)
                    if (outClass[o] + inClass[i] == 3)   // kept A reading kept B (1 + 2) or B reading A
                    {
                        Assert.True(w[o, i].abs().max().item<float>() == 0f, $"{layer.Weight}[{o}, {i}] is not exactly 0");
                        blocks++;
                    }
        }
        Assert.True(blocks > 0, "the plan keeps units of both models in some connected groups");
    }

    [Fact]
    public void ResNetWidthsInSoupModelJsonBuildTheWidenedImageNetNetwork()
    {
        // soup-model.json of a merged ResNet: one width per traced group; stream 1 (stem + stage 1) widened to 70, the last stream to 600.
        int[] widths = [70, 64, 64, 128, 128, 128, 256, 256, 256, 600, 512, 512, 512];
        var spec = ModelSpec.ForArchitecture(ModelSpec.ResNet18, 10, 1, 28) with { Widths = widths };
        using var module = spec.Create();
        var shapes = module.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
        Assert.Equal([70L, 3, 7, 7], shapes["backbone.Convolution249.weight"]);
        Assert.Equal([70L], shapes["backbone.BatchNormalization251.running_var"]);
        Assert.Equal([64L, 70, 3, 3], shapes["backbone.Convolution257.weight"]);    // block 1 reads stream 1
        Assert.Equal([128L, 70, 1, 1], shapes["backbone.Convolution295.weight"]);   // stage 2's shortcut reads it too
        Assert.Equal([10L, 600], shapes["fc.weight"]);                              // the head reads the last stream
        // Unchanged tensors keep the ImageNet weights; spec round trip through JSON keeps the widths.
        using var plain = ResNet18Classifier.FromOnnx(10);
        Assert.True(plain.state_dict().First(p => p.Key == "backbone.Convolution291.weight").Value
            .eq(module.state_dict().First(p => p.Key == "backbone.Convolution291.weight").Value).all().item<bool>());
        Assert.Equal(widths, ModelSpec.Read(WriteSpec(spec)).Widths);

        var e = Assert.Throws<ModelSoupsException>(() => (spec with { Widths = [64, 64] }).Create());
        Assert.Contains("13 positive channel counts", e.Message);
    }

    static string WriteSpec(ModelSpec spec)
    {
        var path = Path.Combine(Path.GetTempPath(), $"soup-model-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, spec.ToJson());
        return path;
    }
}
