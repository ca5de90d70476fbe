using ModelSoups.Merging;
using ModelSoups.Recipes;

namespace ModelSoups.Engine;

/// <summary>
/// Resolves a method's parameters for one tensor of a slice, in mergekit's order
/// (<c>config.py</c>, <c>ConfigReader.parameter</c>): a per-model parameter is the source's value,
/// else the slice's, else the recipe's; a global parameter is the slice's, else the recipe's. A value
/// whose filters match nothing counts as absent, so the next level is tried. Filters see the output
/// tensor name, except a source's own parameters, which see that source's input name (as mergekit).
/// </summary>
static class SliceParameters
{
    /// <summary>The parameters of one output tensor at gradient position <paramref name="t"/>.</summary>
    /// <param name="method">the merge method.</param>
    /// <param name="recipe">the recipe (global parameters).</param>
    /// <param name="slice">the slice (slice parameters).</param>
    /// <param name="ordered">the slice's sources, base first when <paramref name="hasBase"/>.</param>
    /// <param name="hasBase">whether <paramref name="ordered"/>[0] is the base (it has no per-model parameters).</param>
    /// <param name="outputName">the output tensor's name.</param>
    /// <param name="inputNames">the tensor's name in each source, in <paramref name="ordered"/> order.</param>
    /// <param name="t">position within the slice, 0..1.</param>
    public static MergeParameters ForTensor(IMergeMethod method, Recipe recipe, RecipeSlice slice, IReadOnlyList<RecipeSliceSource> ordered, bool hasBase,
        string outputName, IReadOnlyList<string> inputNames, double t)
    {
        int first = hasBase ? 1 : 0;
        var p = new MergeParameters(method, ordered.Count - first);
        var names = recipe.Parameters.Keys.Concat(slice.Parameters.Keys).Concat(ordered.Skip(first).SelectMany(s => s.Model.Parameters.Keys))
            .Where(n => !RecipeParameters.IgnoredMergekitParameters.Contains(n)).Distinct(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var def = method.Parameters.FirstOrDefault(d => d.Name == name);
            object? shared = Value(slice.Parameters, name, outputName, t) ?? Value(recipe.Parameters, name, outputName, t);
            if (def is { Scope: ParameterScope.PerModel })
            {
                for (int k = first; k < ordered.Count; k++)
                    if ((Value(ordered[k].Model.Parameters, name, inputNames[k], t) ?? shared) is { } v) p.Set(name, k - first, v);
                continue;
            }
            // Global (or unknown: MergeParameters.Validate names it). A global parameter set on a
            // source is kept per model so validation reports it instead of silently dropping it.
            if (shared is not null) p.Set(name, shared);
            for (int k = first; k < ordered.Count; k++)
                if (Value(ordered[k].Model.Parameters, name, inputNames[k], t) is { } v) p.Set(name, k - first, v);
        }
        return p;
    }

    static object? Value(IReadOnlyDictionary<string, RecipeValue> values, string name, string tensorName, double t) =>
        values.TryGetValue(name, out var v) ? RecipeParameters.ToSchedule(v).ValueAt(tensorName, t) : null;
}
