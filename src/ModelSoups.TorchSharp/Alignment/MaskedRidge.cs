using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Alignment.ScalarSafeMath;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// Ridge least squares with structural zeros, from accumulated moments: for outputs Y ≈ X·W restricted to the allowed
/// feature set S, W_S = (X_Sᵀ X_S + λ·I)⁻¹ X_Sᵀ Y and W = 0 outside S — exactly zero, not merely small, because the
/// disallowed rows are never solved for. λ = <c>ridge</c> × mean diagonal of X_Sᵀ X_S (scale-free). Solved with a
/// Cholesky factorisation of the symmetric positive definite system, in float64.
/// Chosen over the reference code's masked gradient descent (Adam on the layer-wise MSE with masked gradients):
/// the closed form is exact, has no learning rate or step count to tune, and costs one small solve per layer.
/// </summary>
public static class MaskedRidge
{
    /// <summary>
    /// Weights [features, outputs] minimising ‖X W − Y‖² + λ‖W‖² given <paramref name="gram"/> = XᵀX [F, F] and
    /// <paramref name="cross"/> = XᵀY [F, O], with rows of features where <paramref name="allowed"/> is false fixed at 0.
    /// </summary>
    public static Tensor Solve(Tensor gram, Tensor cross, bool[] allowed, double ridge)
    {
        if (gram.dim() != 2 || gram.shape[0] != gram.shape[1] || cross.shape[0] != gram.shape[0] || allowed.Length != gram.shape[0])
            throw new ArgumentException("gram must be [F, F], cross [F, O] and allowed of length F");
        if (ridge < 0 || !double.IsFinite(ridge)) throw new ModelSoupsException($"the ridge term must be a non-negative number, not {ridge}");
        using var scope = NewDisposeScope();
        var g = gram.to_type(ScalarType.Float64);
        var c = cross.to_type(ScalarType.Float64);
        var result = zeros([gram.shape[0], cross.shape[1]], ScalarType.Float64);
        var idx = tensor(Enumerable.Range(0, allowed.Length).Where(i => allowed[i]).Select(i => (long)i).ToArray());
        if (idx.shape[0] == 0) return result.MoveToOuterDisposeScope();
        var gs = g.index_select(0, idx).index_select(1, idx);
        var cs = c.index_select(0, idx);
        double lambda = ridge * gs.diagonal().mean().item<double>();
        // A floor keeps the system positive definite when a feature never varies (a dead unit, zero padding).
        lambda = Math.Max(lambda, 1e-12 * Math.Max(1.0, gs.diagonal().max().item<double>()));
        var system = Plus(gs, Times(eye(gs.shape[0], dtype: ScalarType.Float64), lambda));
        var factor = linalg.cholesky(system);
        var solved = cholesky_solve(cs, factor);
        result.index_copy_(0, idx, solved);
        return result.MoveToOuterDisposeScope();
    }
}
