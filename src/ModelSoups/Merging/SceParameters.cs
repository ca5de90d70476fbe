namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="Sce"/> for one tensor, typed.</summary>
/// <param name="SelectTopK">Fraction of entries with the largest variance across models kept (<c>select_topk</c>).</param>
public sealed record SceParameters(double SelectTopK);
