using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// Inference-form BatchNorm written with plain tensor operations, (x − μ) / √(σ² + ε) · γ + β per channel,
/// so gradients reach the running statistics too (ATen's batch_norm has no derivative for them), which
/// a learned soup needs: its μ and σ² are α-weighted mixtures of the ingredients' statistics.
/// </summary>
public static class FunctionalBatchNorm
{
    /// <summary>Normalises <paramref name="x"/> [N,C,…] with the given per-channel statistics and affine parameters.</summary>
    public static Tensor Inference(Tensor x, Tensor runningMean, Tensor runningVar, Tensor? weight, Tensor? bias, double eps)
    {
        using var scope = NewDisposeScope();
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[1] = -1;
        var scale = (runningVar + eps).rsqrt();
        if (weight is not null) scale = scale * weight;
        var shift = -runningMean * scale;
        if (bias is not null) shift = shift + bias;
        return (x * scale.reshape(shape) + shift.reshape(shape)).MoveToOuterDisposeScope();
    }
}
