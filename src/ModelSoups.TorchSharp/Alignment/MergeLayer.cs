using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// One weight layer as PLeaS's partial merging and least squares see it: which permutation group (or the data) it reads,
/// which group (or the head's classes) it writes, and its BatchNorm. In a feed-forward chain layer l reads group l − 1
/// and writes group l; in a residual graph several layers write one residual stream and several read it.
/// </summary>
/// <param name="Weight">State name of the weight ([out, in] or [out, in, kh, kw]).</param>
/// <param name="Bias">State name of the bias, or null.</param>
/// <param name="BatchNorm">State-name prefix of the BatchNorm after it, or null.</param>
/// <param name="InputGroup">The group it reads, or <see cref="Data"/>.</param>
/// <param name="OutputGroup">The group it writes, or <see cref="Head"/> (the classes).</param>
/// <param name="Conv">A convolution's geometry; null for a linear layer.</param>
public sealed record MergeLayer(string Weight, string? Bias, string? BatchNorm, int InputGroup, int OutputGroup, ConvGeometry? Conv)
{
    /// <summary><see cref="InputGroup"/> of a layer reading the model input.</summary>
    public const int Data = -1;
    /// <summary><see cref="OutputGroup"/> of the layer producing the logits.</summary>
    public const int Head = -1;

    /// <summary>Weights per (output, input) pair: the kernel's area (1 for a linear layer).</summary>
    public long Area => Conv is { } c ? c.Kernel[0] * c.Kernel[1] : 1;

    /// <summary>The four per-channel BatchNorm vectors.</summary>
    public IEnumerable<string> BatchNormVectors =>
        BatchNorm is { } bn ? [$"{bn}.weight", $"{bn}.bias", $"{bn}.running_mean", $"{bn}.running_var"] : [];
}

/// <summary>
/// A network PLeaS can merge: its weight layers (<see cref="MergeLayer"/>) in forward order and a functional forward pass
/// on any state dictionary (any widths) that shows every weight layer's input, output and pre-activation.
/// </summary>
public interface IMergeNetwork
{
    /// <summary>The weight layers in forward order; the last one produces the logits.</summary>
    IReadOnlyList<MergeLayer> MergeLayers { get; }

    /// <summary>
    /// The logits of <paramref name="state"/> on <paramref name="modelInput"/>; <paramref name="observe"/> (if given) sees, per
    /// weight layer index, the layer's input, its output before BatchNorm and after it. The tensors it sees are disposed
    /// when the call returns, unless it moves them out.
    /// </summary>
    Tensor Forward(IReadOnlyDictionary<string, Tensor> state, Tensor modelInput, Action<int, LayerObservation>? observe = null);
}
