namespace ModelSoups.TorchSharp.Alignment;

/// <summary>What a layer of a <see cref="LayerChain"/> computes with its weights.</summary>
public enum ChainLayerKind
{
    /// <summary><c>y = x Wᵀ + b</c> on [N, in] (state <c>{name}.weight</c> [out, in], <c>{name}.bias</c>).</summary>
    Linear,
    /// <summary>3×3 convolution, padding 1, stride 1 (state <c>{name}.weight</c> [out, in, 3, 3], optional bias).</summary>
    Conv3x3,
}

/// <summary>What follows a layer's activation.</summary>
public enum ChainPooling
{
    /// <summary>Nothing.</summary>
    None,
    /// <summary>2×2 max-pool, stride 2.</summary>
    MaxPool2,
    /// <summary>2×2 max-pool, then the global spatial mean ([N, C, h, w] → [N, C]).</summary>
    MaxPool2ThenMean,
}

/// <summary>
/// One weight layer of a feed-forward chain: the layer, then (optionally) inference-form BatchNorm over its
/// outputs, then (optionally) ReLU, then pooling. Its output units are one permutation group (the last layer's
/// outputs are the classes and are never permuted).
/// </summary>
/// <param name="Name">State-name prefix of the weight (and bias).</param>
/// <param name="Kind">Linear or 3×3 convolution.</param>
/// <param name="HasBias">Whether <c>{Name}.bias</c> exists.</param>
/// <param name="BatchNorm">State-name prefix of the BatchNorm after it (weight, bias, running_mean, running_var), or null.</param>
/// <param name="Relu">Whether ReLU follows.</param>
/// <param name="Pooling">What follows the activation.</param>
public sealed record ChainLayer(string Name, ChainLayerKind Kind, bool HasBias, string? BatchNorm, bool Relu, ChainPooling Pooling)
{
    /// <summary>State name of the weight.</summary>
    public string Weight => $"{Name}.weight";
    /// <summary>State name of the bias.</summary>
    public string Bias => $"{Name}.bias";

    /// <summary>The four per-channel BatchNorm vectors (all permuted with the layer's output units).</summary>
    public IEnumerable<string> BatchNormVectors =>
        BatchNorm is { } bn ? [$"{bn}.weight", $"{bn}.bias", $"{bn}.running_mean", $"{bn}.running_var"] : [];
}
