namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="ModelStock"/> for one tensor, typed.</summary>
/// <param name="FilterWise">One interpolation ratio per row (last dimension) instead of per tensor (<c>filter_wise</c>).</param>
public sealed record ModelStockParameters(bool FilterWise);
