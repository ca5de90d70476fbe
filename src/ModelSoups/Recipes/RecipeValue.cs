namespace ModelSoups.Recipes;

/// <summary>
/// A parameter value as a recipe spells it, before it is resolved for one tensor. mergekit
/// recipes allow three forms (mergekit README, "Parameter Specification"): a scalar; a list of
/// numbers, a gradient interpolated across the layer index; and a list of
/// <c>{filter: substring, value: …}</c> conditions, the first matching filter winning and an
/// entry without a filter acting as the fallback.
/// </summary>
public abstract record RecipeValue
{
    /// <summary>A single number.</summary>
    public sealed record Number(double Value) : RecipeValue
    {
        public override string Describe() => Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>true / false.</summary>
    public sealed record Flag(bool Value) : RecipeValue
    {
        public override string Describe() => Value ? "true" : "false";
    }

    /// <summary>A word, e.g. <c>majority_sign_method: total</c>.</summary>
    public sealed record Text(string Value) : RecipeValue
    {
        public override string Describe() => Value;
    }

    /// <summary>Anchor values spread evenly over the layers, interpolated linearly between them.</summary>
    public sealed record Gradient(IReadOnlyList<double> Anchors) : RecipeValue
    {
        public override string Describe() =>
            "[" + string.Join(", ", Anchors.Select(a => a.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]";
    }

    /// <summary>Filters tried in order; <see cref="Condition.Filter"/> null is the fallback.</summary>
    public sealed record Conditional(IReadOnlyList<Condition> Conditions) : RecipeValue
    {
        public override string Describe() =>
            "[" + string.Join(", ", Conditions.Select(c => c.Filter is null ? $"{{value: {c.Value.Describe()}}}" : $"{{filter: {c.Filter}, value: {c.Value.Describe()}}}")) + "]";
    }

    /// <summary>One entry of a <see cref="Conditional"/>.</summary>
    public sealed record Condition(string? Filter, RecipeValue Value);

    /// <summary>How the value reads in a recipe, for messages and provenance.</summary>
    public abstract string Describe();

    public sealed override string ToString() => Describe();
}
