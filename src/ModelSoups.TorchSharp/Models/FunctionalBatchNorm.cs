using TorchSharp;
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
        // Explicit Scalars kept alive by `using`: `t + eps` and `a + b` (alpha = 1) make Scalars that TorchSharp 0.107
        // leaves to the finalizer, which can free them while libtorch still reads them (dotnet/TorchSharp#1434).
        using var epsilon = eps.ToScalar();
        using var one = 1.ToScalar();
        var scale = runningVar.add(epsilon, one).rsqrt();
        if (weight is not null) scale = scale * weight;
        var shift = -runningMean * scale;
        if (bias is not null) shift = shift.add(bias, one);
        return (x * scale.reshape(shape)).add(shift.reshape(shape), one).MoveToOuterDisposeScope();
    }
}
