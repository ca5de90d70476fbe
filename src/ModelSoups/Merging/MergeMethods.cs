namespace ModelSoups.Merging;

/// <summary>The registry of built-in merge methods, by recipe name.</summary>
public static class MergeMethods
{
    static readonly IMergeMethod[] Methods =
    [
        new Linear(), new TaskArithmetic(), new Ties(), new DareLinear(), new DareTies(),
        new Breadcrumbs(), new BreadcrumbsTies(), new Della(), new DellaLinear(), new Sce(), new Slerp(), new NuSlerp(), new MultiSlerp(), new Karcher(),
        new ModelStock(), new NearSwap(), new ArceeFusion(), new Ram(), new RamPlusTl(), new LayerSwap(), new Passthrough(),
    ];

    /// <summary>Every method, in documentation order.</summary>
    public static IReadOnlyList<IMergeMethod> All => Methods;

    /// <summary>The method called <paramref name="name"/> (case-insensitive), or false.</summary>
    public static bool TryGet(string name, out IMergeMethod method)
    {
        method = Methods.FirstOrDefault(m => string.Equals(m.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))!;
        return method is not null;
    }

    /// <summary>The method called <paramref name="name"/>; a <see cref="ModelSoupsException"/> listing the known names otherwise.</summary>
    public static IMergeMethod Get(string name) => TryGet(name, out var m)
        ? m
        : throw new ModelSoupsException($"Unknown merge method '{name}'; known methods: {string.Join(", ", Methods.Select(x => x.Name))}.");
}
