using System.Numerics;

namespace ModelSoups.Merging;

/// <summary>
/// mergekit's rescaling of a sparsified task vector (<c>sparsify.rescaled_masked_tensor</c> with
/// the L1 norm, the default for DARE and DELLA): the kept entries are multiplied by
/// ‖τ‖₁ / ‖τ̂‖₁ so the task vector keeps its L1 norm; when either norm is below 10⁻⁷ the
/// masked vector is left as it is. Norms are summed in double and the ratio is formed in the
/// compute type, as mergekit forms it in the tensor's dtype.
/// </summary>
public static class L1Rescale
{
    const double Eps = 1e-7;

    /// <summary>The factor for task-vector L1 norm <paramref name="before"/> and sparsified norm <paramref name="after"/>.</summary>
    public static T Factor<T>(double before, double after) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        before < Eps || after < Eps ? T.One : T.CreateChecked(before) / T.CreateChecked(after);
}
