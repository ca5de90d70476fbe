using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Tests.Alignment.AlignmentFixtures;

namespace ModelSoups.TorchSharp.Tests.Alignment;

public class PermutationTests
{
    [Theory]
    [InlineData(ModelSpec.MlpName)]
    [InlineData(ModelSpec.Cnn)]
    public void ChainForwardIsTheModulesForward(string architecture)
    {
        // The chain is the data every matching step reads; it must compute exactly what the module computes.
        var spec = Spec(architecture);
        using var module = Model(spec, 1);
        var state = StateTensors.Of(module);
        var x = Inputs(2);
        using var _ = no_grad();
        Assert.True(MaxAbsDifference(module.call(x), LayerChain.For(spec).Forward(state, x)) < 1e-5);
    }

    [Fact]
    public void SpecGroupsAreTheHiddenLayersWithTheirBatchNormAndNextInputs()
    {
        using var module = Model(CnnSpec, 1);
        var spec = PermutationSpec.FromChain(LayerChain.For(CnnSpec), StateTensors.Shapes(StateTensors.Of(module)));
        Assert.Equal(["conv1", "conv2"], spec.Groups.Select(g => g.Name));
        Assert.Equal([6, 12], spec.Groups.Select(g => g.Size));
        Assert.Equal(
            ["conv1.weight:0", "bn1.weight:0", "bn1.bias:0", "bn1.running_mean:0", "bn1.running_var:0", "conv2.weight:1"],
            spec.Groups[0].Axes.Select(a => $"{a.Tensor}:{a.Axis}"));
        Assert.Equal("fc.weight:1", spec.Groups[1].Axes[^1] is var last ? $"{last.Tensor}:{last.Axis}" : "");
    }

    [Theory]
    [InlineData(ModelSpec.MlpName)]
    [InlineData(ModelSpec.Cnn)]
    public void PermutedCopyComputesTheSameFunction(string architecture)
    {
        var modelSpec = Spec(architecture);
        using var module = Model(modelSpec, 3);
        var chain = LayerChain.For(modelSpec);
        var state = StateTensors.Of(module);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(state));
        var permuted = spec.Apply(state, RandomPermutation(spec, 4));
        Assert.False(permuted[chain.Layers[0].Weight].eq(state[chain.Layers[0].Weight]).all().item<bool>());
        var x = Inputs(5);
        using var _ = no_grad();
        Assert.True(MaxAbsDifference(chain.Forward(state, x), chain.Forward(permuted, x)) < 1e-5);
    }

    [Theory]
    [InlineData(ModelSpec.MlpName, AlignmentMethod.Weight)]
    [InlineData(ModelSpec.MlpName, AlignmentMethod.Activation)]
    [InlineData(ModelSpec.Cnn, AlignmentMethod.Weight)]
    [InlineData(ModelSpec.Cnn, AlignmentMethod.Activation)]
    public void MatchingRecoversARandomPermutationBitForBit(string architecture, AlignmentMethod method)
    {
        var modelSpec = Spec(architecture);
        using var module = Model(modelSpec, 6);
        var chain = LayerChain.For(modelSpec);
        var state = StateTensors.Of(module);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(state));
        var shuffled = spec.Apply(state, RandomPermutation(spec, 7));
        var perm = ModelAlignment.Match(method, chain, spec, state, shuffled, [Inputs(8, 64)]);
        AssertBitEqual(state, spec.Apply(shuffled, perm));
    }

    [Theory]
    [InlineData(ModelSpec.MlpName, AlignmentMethod.Weight)]
    [InlineData(ModelSpec.MlpName, AlignmentMethod.Activation)]
    [InlineData(ModelSpec.Cnn, AlignmentMethod.Weight)]
    [InlineData(ModelSpec.Cnn, AlignmentMethod.Activation)]
    public void AligningAnIndependentModelKeepsItsFunction(string architecture, AlignmentMethod method)
    {
        var modelSpec = Spec(architecture);
        using var a = Model(modelSpec, 10);
        using var b = Model(modelSpec, 11);
        var chain = LayerChain.For(modelSpec);
        var sa = StateTensors.Of(a);
        var sb = StateTensors.Of(b);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(sb));
        var perm = ModelAlignment.Match(method, chain, spec, sa, sb, [Inputs(12, 64)]);
        Assert.Contains(perm, p => !p.SequenceEqual(Enumerable.Range(0, p.Length)));  // something moved
        var aligned = spec.Apply(sb, perm);
        var x = Inputs(13);
        using var _ = no_grad();
        Assert.True(MaxAbsDifference(b.call(x), chain.Forward(aligned, x)) < 1e-5);
    }

    [Fact]
    public void WeightMatchingIgnoresBatchNormStatistics()
    {
        // A permuted copy whose BatchNorm statistics are then rewritten (as a fine-tune at another resolution does): the
        // statistics say nothing about which units correspond, so matching on the weights must still undo the permutation.
        using var module = Model(CnnSpec, 30);
        var chain = LayerChain.For(CnnSpec);
        var state = StateTensors.Of(module);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(state));
        var shuffled = spec.Apply(state, RandomPermutation(spec, 31));
        manual_seed(32);
        foreach (var name in shuffled.Keys.Where(k => k.EndsWith(".running_mean", StringComparison.Ordinal) || k.EndsWith(".running_var", StringComparison.Ordinal)).ToList())
            shuffled[name] = rand(shuffled[name].shape) * 100;
        var aligned = spec.Apply(shuffled, WeightMatching.Match(spec, state, shuffled));
        foreach (var (name, t) in state.Where(p => !StateTensors.IsStatistic(p.Key)))
            Assert.True(t.eq(aligned[name]).all().item<bool>(), $"{name} differs");
    }

    [Fact]
    public void WeightMatchingIncreasesTheWeightInnerProduct()
    {
        // The objective Git Re-Basin maximises: Σ ⟨W_A, π(W_B)⟩ over permuted tensors; identity is a feasible start.
        using var a = Model(MlpSpec, 20);
        using var b = Model(MlpSpec, 21);
        var chain = LayerChain.For(MlpSpec);
        var sa = StateTensors.Of(a);
        var sb = StateTensors.Of(b);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(sb));
        double Objective(IReadOnlyDictionary<string, Tensor> s) => sa.Keys.Sum(k => (sa[k].to_type(ScalarType.Float64) * s[k].to_type(ScalarType.Float64)).sum().item<double>());
        var aligned = spec.Apply(sb, WeightMatching.Match(spec, sa, sb));
        Assert.True(Objective(aligned) > Objective(sb));
    }

    [Fact]
    public void SpecThatDoesNotMatchTheTensorsIsAUserError()
    {
        using var module = Model(MlpSpec, 1);
        var shapes = StateTensors.Shapes(StateTensors.Of(module));
        var e = Assert.Throws<ModelSoupsException>(() => PermutationSpec.FromChain(LayerChain.Mlp(3), shapes, "b"));
        Assert.Contains("layers.7.weight", e.Message);
        var spec = PermutationSpec.FromChain(LayerChain.For(MlpSpec), shapes);
        shapes["layers.3.weight"] = [10, 13];
        var wrong = Assert.Throws<ModelSoupsException>(() => spec.Validate(shapes, "b"));
        Assert.Contains("axis 1 of 'layers.3.weight'", wrong.Message);
    }

    [Fact]
    public void DifferentArchitecturesAreAUserError()
    {
        using var a = Model(MlpSpec, 1);
        using var b = Model(CnnSpec, 1);
        var e = Assert.Throws<ModelSoupsException>(() =>
            ModelAlignment.Prepare(MlpSpec, CnnSpec, StateTensors.Of(a), StateTensors.Of(b), "a", "b"));
        Assert.Contains("different architectures", e.Message);
        var wider = MlpSpec with { Hidden = [12, 11] };
        using var c = Model(wider, 1);
        Assert.Throws<ModelSoupsException>(() =>
            ModelAlignment.Prepare(MlpSpec, wider, StateTensors.Of(a), StateTensors.Of(c), "a", "c"));
    }
}
