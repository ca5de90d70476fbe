using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// A feed-forward architecture written as data: an ordered list of <see cref="ChainLayer"/>s that a functional
/// forward pass runs on any state dictionary (any widths), exposing every layer's input and output. The
/// permutation spec (<see cref="PermutationSpec.FromChain"/>), activation matching and PLeaS's layer-wise least
/// squares all read this one description, so a new architecture is a new chain, not new matching code.
/// Chains exist for <c>mlp</c> (<see cref="Mlp"/>) and <c>cnn</c> (<see cref="SmallCnn"/>); the residual
/// ImageNet ResNet-18 is not a chain: its groups are traced through its graph (<see cref="ResidualGraph"/>).
/// </summary>
public sealed class LayerChain : IMergeNetwork
{
    /// <summary>The layers in forward order; the last one produces the logits.</summary>
    public IReadOnlyList<ChainLayer> Layers { get; }
    /// <summary>The layers as PLeaS merges them: layer l reads group l − 1 (the data for l = 0) and writes group l (the head for the last).</summary>
    public IReadOnlyList<MergeLayer> MergeLayers => Layers.Select((layer, l) => new MergeLayer(layer.Weight, layer.HasBias ? layer.Bias : null, layer.BatchNorm,
        l - 1, l + 1 < Layers.Count ? l : MergeLayer.Head,
        layer.Kind == ChainLayerKind.Conv3x3 ? Conv3x3Geometry : null)).ToList();

    // What ApplyLayer's 3×3 convolution does (sizes are not needed by the merge).
    static readonly ConvGeometry Conv3x3Geometry = new(0, 0, [3, 3], [1, 1], [1, 1], null, [1, 1], 1, HasBias: false);

    /// <summary>Whether the input [N, C, H, W] is flattened before the first layer (an MLP).</summary>
    public bool FlattenInput { get; }
    /// <summary>BatchNorm ε (<see cref="ScalarSafeBatchNorm2d"/>'s default).</summary>
    public double BatchNormEps { get; }

    /// <summary>A chain of <paramref name="layers"/>.</summary>
    public LayerChain(IReadOnlyList<ChainLayer> layers, bool flattenInput, double batchNormEps = 1e-5)
    {
        if (layers.Count < 1) throw new ArgumentException("a chain needs at least one layer", nameof(layers));
        Layers = layers; FlattenInput = flattenInput; BatchNormEps = batchNormEps;
    }

    /// <summary>The chain of an architecture, or a <see cref="ModelSoupsException"/> naming what is supported.</summary>
    public static LayerChain For(ModelSpec spec, string? path = null) => spec.Architecture switch
    {
        ModelSpec.MlpName => Mlp((spec.Hidden ?? [128]).Length),
        ModelSpec.Cnn => SmallCnn(),
        _ => throw new ModelSoupsException(
            spec.Architecture == ModelSpec.ResNet18
                ? $"{spec.Architecture} is a residual graph, not a feed-forward chain (its groups are traced through the graph instead)"
                : $"permutation alignment supports the {ModelSpec.MlpName}, {ModelSpec.Cnn} and {ModelSpec.ResNet18} architectures, not {spec.Architecture}", path),
    };

    /// <summary><see cref="Models.Mlp"/>: Linear layers at Sequential indices 1, 3, 5, … with ReLU between.</summary>
    public static LayerChain Mlp(int hiddenLayers)
    {
        var layers = new List<ChainLayer>();
        for (int i = 0; i <= hiddenLayers; i++)
            layers.Add(new ChainLayer($"layers.{1 + 2 * i}", ChainLayerKind.Linear, HasBias: true, BatchNorm: null, Relu: i < hiddenLayers, ChainPooling.None));
        return new LayerChain(layers, flattenInput: true);
    }

    /// <summary><see cref="Models.SmallCnn"/>: conv1 → bn1 → ReLU → pool, conv2 → bn2 → ReLU → pool → mean, fc.</summary>
    public static LayerChain SmallCnn() => new(
    [
        new ChainLayer("conv1", ChainLayerKind.Conv3x3, HasBias: false, "bn1", Relu: true, ChainPooling.MaxPool2),
        new ChainLayer("conv2", ChainLayerKind.Conv3x3, HasBias: false, "bn2", Relu: true, ChainPooling.MaxPool2ThenMean),
        new ChainLayer("fc", ChainLayerKind.Linear, HasBias: true, BatchNorm: null, Relu: false, ChainPooling.None),
    ], flattenInput: false);

    /// <summary>The layer applied to <paramref name="input"/> with the weights of <paramref name="state"/> (before BatchNorm).</summary>
    public static Tensor ApplyLayer(ChainLayer layer, Tensor input, IReadOnlyDictionary<string, Tensor> state)
    {
        var bias = layer.HasBias ? state[layer.Bias] : null;
        return layer.Kind switch
        {
            ChainLayerKind.Linear => nn.functional.linear(input, state[layer.Weight], bias),
            ChainLayerKind.Conv3x3 => nn.functional.conv2d(input, state[layer.Weight], bias, padding: [1, 1]),
            _ => throw new InvalidOperationException(layer.Kind.ToString()),
        };
    }

    /// <summary>BatchNorm (if any) applied to a layer's output: the pre-activation.</summary>
    public Tensor Normalize(ChainLayer layer, Tensor output, IReadOnlyDictionary<string, Tensor> state)
    {
        if (layer.BatchNorm is not { } bn) return output.alias();
        return FunctionalBatchNorm.Inference(output, state[$"{bn}.running_mean"], state[$"{bn}.running_var"],
            state[$"{bn}.weight"], state[$"{bn}.bias"], BatchNormEps);
    }

    /// <summary>ReLU and pooling after the pre-activation: the next layer's input.</summary>
    public static Tensor Activate(ChainLayer layer, Tensor preActivation)
    {
        using var scope = NewDisposeScope();
        var x = layer.Relu ? nn.functional.relu(preActivation) : preActivation.alias();
        x = layer.Pooling switch
        {
            ChainPooling.None => x,
            ChainPooling.MaxPool2 => nn.functional.max_pool2d(x, 2),
            ChainPooling.MaxPool2ThenMean => nn.functional.max_pool2d(x, 2).mean([2, 3]),
            _ => throw new InvalidOperationException(layer.Pooling.ToString()),
        };
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The chain's input from a prepared model input.</summary>
    public Tensor Input(Tensor modelInput) => FlattenInput ? modelInput.flatten(1) : modelInput.alias();

    /// <summary>
    /// The logits of <paramref name="state"/> on <paramref name="modelInput"/>; <paramref name="observe"/> (if given) sees,
    /// per layer index, the layer's input, its output before BatchNorm and the pre-activation (after BatchNorm).
    /// The tensors it sees are disposed when the call returns, unless it moves them out.
    /// </summary>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> state, Tensor modelInput, Action<int, LayerObservation>? observe = null)
    {
        using var scope = NewDisposeScope();
        var x = Input(modelInput);
        for (int l = 0; l < Layers.Count; l++)
        {
            var layer = Layers[l];
            var output = ApplyLayer(layer, x, state);
            var pre = Normalize(layer, output, state);
            observe?.Invoke(l, new LayerObservation(x, output, pre));
            x = Activate(layer, pre);
        }
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>One layer's tensors during a <see cref="LayerChain.Forward"/> pass.</summary>
/// <param name="Input">What the layer reads ([N, in] or [N, C, H, W]).</param>
/// <param name="Output">The layer's output before BatchNorm.</param>
/// <param name="PreActivation">After BatchNorm, before ReLU (equals <paramref name="Output"/> without BatchNorm).</param>
public sealed record LayerObservation(Tensor Input, Tensor Output, Tensor PreActivation);
