using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// What alignment needs of an architecture: its <see cref="PermutationSpec"/> and, for activation matching, the
/// activations whose units each group permutes. Feed-forward models are a <see cref="LayerChain"/> (one group per
/// hidden layer: its pre-activations); residual ONNX graphs (the ImageNet ResNet-18) a <see cref="ResidualGraph"/>
/// (one group per residual stream and per block's inner channels: every BatchNorm and Add output of the group).
/// </summary>
public sealed class PermutableNetwork
{
    readonly Func<IReadOnlyDictionary<string, Tensor>, Tensor, List<(int Group, Tensor Samples)>> _activations;

    /// <summary>Which tensor axes share a permutation.</summary>
    public PermutationSpec Spec { get; }

    readonly Lazy<IMergeNetwork> _merge;

    /// <summary>
    /// The network as PLeaS merges it (the chain; for a residual graph a <see cref="ResidualMergeNetwork"/>, built on first
    /// use so that alignment alone never needs what only merging needs).
    /// </summary>
    /// <exception cref="ModelSoupsException">The graph has a layout PLeaS cannot merge.</exception>
    public IMergeNetwork Merge => _merge.Value;

    PermutableNetwork(PermutationSpec spec, Func<IMergeNetwork> merge, Func<IReadOnlyDictionary<string, Tensor>, Tensor, List<(int Group, Tensor Samples)>> activations)
    {
        Spec = spec; _merge = new Lazy<IMergeNetwork>(merge); _activations = activations;
    }

    /// <summary>
    /// The activations of <paramref name="state"/> on <paramref name="input"/> that activation matching correlates, as
    /// (group, [samples, units] float64); a group may appear several times (a residual stream is observed after every
    /// layer that writes it), always in the same order for one network. Tensors are moved to the caller's dispose scope.
    /// </summary>
    public List<(int Group, Tensor Samples)> PreActivations(IReadOnlyDictionary<string, Tensor> state, Tensor input) => _activations(state, input);

    /// <summary>A feed-forward chain with the spec derived from <paramref name="shapes"/>.</summary>
    public static PermutableNetwork FromChain(LayerChain chain, IReadOnlyDictionary<string, long[]> shapes, string? path = null) =>
        new(PermutationSpec.FromChain(chain, shapes, path), () => chain, (state, input) =>
        {
            var result = new List<(int, Tensor)>();
            using (chain.Forward(state, input, (l, o) =>
            {
                if (l + 1 < chain.Layers.Count) result.Add((l, ActivationMatching.AsSamples(o.PreActivation).MoveToOuterDisposeScope()));
            })) { }
            return result;
        });

    /// <summary>A residual classifier on an ONNX backbone (<see cref="ResNet18Classifier"/>): groups traced through its graph.</summary>
    public static PermutableNetwork FromResNet(ResNet18Classifier model, IReadOnlyDictionary<string, long[]> shapes, string? path = null)
    {
        var graph = ResidualGraph.From(model.Backbone.Steps, model.Backbone.InputName, model.Backbone.OutputName,
            ResNet18Classifier.BackbonePrefix, "fc.weight", shapes, path);
        return new(graph.Spec, () => new ResidualMergeNetwork(model, graph, path), (state, input) =>
        {
            var result = new List<(int, Tensor)>();
            using (model.Forward(input, state, (step, value) =>
            {
                if (graph.ObservedValues.TryGetValue(step.Output, out var g)) result.Add((g, ActivationMatching.AsSamples(value).MoveToOuterDisposeScope()));
            })) { }
            return result;
        });
    }

    /// <summary>The network of <paramref name="module"/> (built from <paramref name="spec"/>), or a <see cref="ModelSoupsException"/> naming what is supported.</summary>
    public static PermutableNetwork For(ModelSpec spec, nn.Module module, IReadOnlyDictionary<string, long[]> shapes, string? path = null) =>
        module is ResNet18Classifier resnet ? FromResNet(resnet, shapes, path) : FromChain(LayerChain.For(spec, path), shapes, path);
}
