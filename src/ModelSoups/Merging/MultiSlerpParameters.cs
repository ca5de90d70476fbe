namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="MultiSlerp"/> for one tensor, typed.</summary>
/// <param name="Weights">w_i per model, divided by their sum when <paramref name="NormalizeWeights"/>.</param>
/// <param name="Eps">Numerical floor of the norms (<c>eps</c>).</param>
/// <param name="NormalizeWeights">The weights were divided by their sum (<c>normalize_weights</c>).</param>
/// <param name="WeightSum">Σ w_i as given (before dividing).</param>
public sealed record MultiSlerpParameters(IReadOnlyList<double> Weights, double Eps, bool NormalizeWeights, double WeightSum);
