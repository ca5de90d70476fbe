namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="Slerp"/> for one tensor, typed.</summary>
/// <param name="T">The interpolation factor t (<c>t</c>): 0 the first tensor, 1 the second.</param>
/// <param name="FromBase">One model besides the base (mergekit's form): from the base (t = 0) toward that model.</param>
public sealed record SlerpParameters(double T, bool FromBase);
