namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="NuSlerp"/> for one tensor, typed.</summary>
/// <param name="Weight0">The first model's weight (<c>weight</c> of model 0).</param>
/// <param name="Weight1">The second model's weight (<c>weight</c> of model 1).</param>
/// <param name="Flatten">Interpolate the whole tensor as one vector (<c>nuslerp_flatten</c>).</param>
/// <param name="RowWise">Interpolate along dimension 0 instead of the last (<c>nuslerp_row_wise</c>).</param>
public sealed record NuSlerpParameters(double Weight0, double Weight1, bool Flatten, bool RowWise)
{
    /// <summary>mergekit's t = w₁ / (w₀ + w₁), or ½ when the weights (nearly) cancel.</summary>
    public double T => Math.Abs(Weight0 + Weight1) < 1e-6 ? 0.5 : Weight1 / (Weight0 + Weight1);
}
