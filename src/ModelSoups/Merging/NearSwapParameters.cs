namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="NearSwap"/> for one tensor, typed.</summary>
/// <param name="T">The similarity threshold t (<c>t</c>).</param>
public sealed record NearSwapParameters(double T);
