using ModelSoups.Merging;
using ModelSoups.Recipes;

namespace ModelSoups.Engine;

/// <summary>Turns recipe values (scalar, gradient, filters) into per-tensor parameter values.</summary>
static class RecipeParameters
{
    /// <summary>The schedule a recipe value describes.</summary>
    public static ParameterSchedule ToSchedule(RecipeValue value) => value switch
    {
        RecipeValue.Number n => ParameterSchedule.Constant(n.Value),
        RecipeValue.Flag f => ParameterSchedule.Constant(f.Value),
        RecipeValue.Text t => ParameterSchedule.Constant(t.Value),
        RecipeValue.Gradient g => ParameterSchedule.Gradient([.. g.Anchors]),
        RecipeValue.Conditional c => ParameterSchedule.Filtered([.. c.Conditions.Select(x => (x.Filter, ToSchedule(x.Value)))]),
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    /// <summary>Resolved schedules of a recipe: global ones and one set per model.</summary>
    public sealed record Schedules(
        IReadOnlyDictionary<string, ParameterSchedule> Global,
        IReadOnlyList<IReadOnlyDictionary<string, ParameterSchedule>> PerModel);

    /// <summary>
    /// mergekit parameters that only change how mergekit computes, not what: <c>int8_mask</c> stores
    /// its masks as int8 to save memory. Accepted so mergekit recipes run unchanged, then dropped.
    /// </summary>
    public static readonly string[] IgnoredMergekitParameters = ["int8_mask"];

    public static Schedules FromRecipe(Recipe recipe, IReadOnlyList<RecipeModel> models) => new(
        recipe.Parameters.Where(p => !IgnoredMergekitParameters.Contains(p.Key)).ToDictionary(p => p.Key, p => ToSchedule(p.Value)),
        [.. models.Select(m => (IReadOnlyDictionary<string, ParameterSchedule>)m.Parameters.ToDictionary(p => p.Key, p => ToSchedule(p.Value)))]);

    /// <summary>The method's parameters for one tensor (values of gradients and filters taken at that tensor).</summary>
    public static MergeParameters ForTensor(IMergeMethod method, Schedules s, string tensorName, int? layer, int layerCount)
    {
        var p = new MergeParameters(method, s.PerModel.Count);
        foreach (var (name, schedule) in s.Global)
            if (schedule.ValueFor(tensorName, layer, layerCount) is { } v) p.Set(name, v);
        for (int i = 0; i < s.PerModel.Count; i++)
            foreach (var (name, schedule) in s.PerModel[i])
                if (schedule.ValueFor(tensorName, layer, layerCount) is { } v) p.Set(name, i, v);
        return p;
    }
}
