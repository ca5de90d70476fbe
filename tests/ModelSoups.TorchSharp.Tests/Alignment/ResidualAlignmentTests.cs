using ModelSoups.Onnx.Format;
using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Tests.Alignment.AlignmentFixtures;

namespace ModelSoups.TorchSharp.Tests.Alignment;

/// <summary>Permutation alignment of residual networks (the ONNX ResNet-18 and <see cref="TinyResNet"/>, its shape at a test's size).</summary>
public class ResidualAlignmentTests
{
    static PermutableNetwork Network(ResNet18Classifier model) => PermutableNetwork.FromResNet(model, StateTensors.Shapes(StateTensors.Of(model)));

    static string[] Axes(PermutationGroup g) => g.Axes.Select(a => $"{a.Tensor.Replace("backbone.", "")}:{a.Axis}").ToArray();

    [Fact]
    public void ResidualStreamsAreOneGroupAcrossBlocksAndShortcuts()
    {
        using var model = TinyResNet.Model(1);
        var spec = Network(model).Spec;
        // Stream 1 (stem, block 1's output), block 1's inner channels, stream 2 (shortcut, blocks 2 and 3), and the inner channels of blocks 2 and 3.
        Assert.Equal(["stem_node", "block1_c1_node", "short_node", "block2_c1_node", "block3_c1_node"], spec.Groups.Select(g => g.Name));
        Assert.Equal([4, 4, 6, 6, 6], spec.Groups.Select(g => g.Size));
        var stream1 = Axes(spec.Groups[0]);
        // Written by the stem conv+BN and block 1's second conv+BN; read by block 1's and block 2's first convs and the shortcut.
        Assert.Equal(["stem_node.weight:0", "stem_bn_node.weight:0", "stem_bn_node.bias:0", "stem_bn_node.running_mean:0", "stem_bn_node.running_var:0",
            "block1_c1_node.weight:1", "block1_c2_node.weight:0", "block1_n2_node.weight:0", "block1_n2_node.bias:0", "block1_n2_node.running_mean:0",
            "block1_n2_node.running_var:0", "short_node.weight:1", "block2_c1_node.weight:1"], stream1);
        var stream2 = Axes(spec.Groups[2]);
        Assert.Contains("short_node.weight:0", stream2);
        Assert.Contains("short_bn_node.running_var:0", stream2);
        Assert.Contains("block2_c2_node.weight:0", stream2);
        Assert.Contains("block3_c1_node.weight:1", stream2);
        Assert.Contains("block3_c2_node.weight:0", stream2);
        Assert.Equal("fc.weight:1", stream2[^1]);
        Assert.Equal(["block1_c1_node.weight:0", "block1_n1_node.weight:0", "block1_n1_node.bias:0", "block1_n1_node.running_mean:0",
            "block1_n1_node.running_var:0", "block1_c2_node.weight:1"], Axes(spec.Groups[1]));
        // Every permutable tensor axis of the model is covered once: all conv and BN tensors, and the head's input.
        int covered = spec.Groups.Sum(g => g.Axes.Count);
        Assert.Equal(8 * 2 - 1 + 8 * 4 + 1, covered);  // 8 convs × (out, in) minus the stem's input; 8 BN × 4 vectors; fc input
    }

    [Fact]
    public void ImageNetResNet18HasFourStreamsAndNineBlockGroups()
    {
        // The CNTK export has 22 convolutions: the stem, 2 + 2 + 2 blocks in stages 1–3, 3 blocks in stage 4, and 3 1×1 shortcuts.
        using var model = ResNet18Classifier.FromOnnx(10);
        var spec = Network(model).Spec;
        Assert.Equal([64, 64, 64, 128, 128, 128, 256, 256, 256, 512, 512, 512, 512], spec.Groups.Select(g => g.Size).ToArray());
        // Stream 1 (stem + stage 1) and the three later streams, each starting at its shortcut conv; the last one ends in the head.
        Assert.Equal(["Convolution249", "Convolution295", "Convolution327", "Convolution359"], new[] { 0, 3, 6, 9 }.Select(g => spec.Groups[g].Name));
        // Stream 1: written by the stem and 2 blocks (3 conv + 3 BN × 4 vectors = 15 axes), read by 2 blocks, stage 2's first block and its shortcut (4).
        Assert.Equal(19, spec.Groups[0].Axes.Count);
        Assert.Contains(new PermutationAxis("backbone.Convolution387.weight", 0), spec.Groups[9].Axes);  // the last block writes the last stream
        Assert.Equal("fc.weight", spec.Groups[9].Axes[^1].Tensor);
        Assert.Equal(22 + 21 + 22 * 4 + 1, spec.Groups.Sum(g => g.Axes.Count));  // 22 convs out, 21 in (not the stem), 22 BN × 4, the head
    }

    [Fact]
    public void PermutedResNetComputesTheSameLogits()
    {
        using var model = TinyResNet.Model(2);
        var network = Network(model);
        var state = StateTensors.Of(model);
        var permuted = network.Spec.Apply(state, RandomPermutation(network.Spec, 3));
        using var x = TinyResNet.Inputs(4);
        using var _ = no_grad();
        using var before = model.call(x);
        StateTensors.Into(model, permuted);
        using var after = model.call(x);
        Assert.True(MaxAbsDifference(before, after) < 1e-5, $"max |Δ logits| = {MaxAbsDifference(before, after)}");
        Assert.True(before.abs().max().item<float>() > 0.1f);
    }

    [Theory]
    [InlineData(AlignmentMethod.Weight)]
    [InlineData(AlignmentMethod.Activation)]
    public void MatchingRecoversAPermutedResNetBitForBit(AlignmentMethod method)
    {
        using var model = TinyResNet.Model(5);
        var network = Network(model);
        var state = StateTensors.Of(model);
        var shuffled = network.Spec.Apply(state, RandomPermutation(network.Spec, 6));
        var perm = ModelAlignment.Match(method, network, state, shuffled, [TinyResNet.Inputs(7, 32)]);
        AssertBitEqual(state, network.Spec.Apply(shuffled, perm));
    }

    [Theory]
    [InlineData(AlignmentMethod.Weight)]
    [InlineData(AlignmentMethod.Activation)]
    public void AligningAnIndependentResNetKeepsItsLogits(AlignmentMethod method)
    {
        using var a = TinyResNet.Model(10);
        using var b = TinyResNet.Model(11);
        var network = Network(b);
        var sa = StateTensors.Of(a);
        var sb = StateTensors.Of(b);
        var perm = ModelAlignment.Match(method, network, sa, sb, [TinyResNet.Inputs(12, 32)]);
        Assert.Contains(perm, p => !p.SequenceEqual(Enumerable.Range(0, p.Length)));
        using var x = TinyResNet.Inputs(13);
        using var _ = no_grad();
        using var before = b.call(x);
        StateTensors.Into(b, network.Spec.Apply(sb, perm));
        using var after = b.call(x);
        Assert.True(MaxAbsDifference(before, after) < 1e-5, $"max |Δ logits| = {MaxAbsDifference(before, after)}");
    }

    [Fact]
    public void GraphsTheTracingDoesNotFollowAreUserErrors()
    {
        // A grouped (depthwise) convolution ties channels the spec format cannot express as one permutation per group.
        var b = new OnnxModelBuilder()
            .Initializer("w1", [4, 3, 3, 3], new float[4 * 27]).Node("Conv", ["x", "w1"], ["c1"], OnnxAttribute.FromInts("pads", 1, 1, 1, 1))
            .Initializer("w2", [4, 2, 3, 3], new float[4 * 18]).Node("Conv", ["c1", "w2"], ["c2"], OnnxAttribute.FromInts("pads", 1, 1, 1, 1), OnnxAttribute.FromInt("group", 2))
            .Node("GlobalAveragePool", ["c2"], ["features"]);
        using var grouped = new ResNet18Classifier(OnnxModel.Parse(b.Input("x", OnnxDataType.Float, null, 3, 8, 8).Output("features", OnnxDataType.Float, null, 4, 1, 1).ToBytes()), 2);
        var e = Assert.Throws<ModelSoupsException>(() => Network(grouped));
        Assert.Contains("2 channel groups", e.Message);

        // A reference whose widths differ from the model's.
        using var model = TinyResNet.Model(1);
        var shapes = StateTensors.Shapes(StateTensors.Of(model));
        var spec = Network(model).Spec;
        shapes["backbone.short_node.weight"] = [5, 4, 1, 1];
        var wrong = Assert.Throws<ModelSoupsException>(() => spec.Validate(shapes, "ref"));
        Assert.Contains("axis 0 of 'backbone.short_node.weight' to have 6 units", wrong.Message);
    }
}
