namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="Karcher"/> for one tensor, typed.</summary>
/// <param name="MaxIterations">Most fixed-point iterations (<c>max_iter</c>).</param>
/// <param name="Tolerance">Stop when the step's norm falls below it (<c>tol</c>).</param>
public sealed record KarcherParameters(int MaxIterations, double Tolerance);
