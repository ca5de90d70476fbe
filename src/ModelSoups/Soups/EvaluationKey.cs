using System.Globalization;

namespace ModelSoups.Soups;

/// <summary>What an evaluation in a greedy run was of.</summary>
public enum EvaluationKind
{
    /// <summary>One ingredient as it is.</summary>
    Ingredient,
    /// <summary>The uniform mean of a set of ingredients (a greedy candidate or the accepted soup).</summary>
    Soup,
    /// <summary>A named baseline (the uniform soup of all, the logit ensemble).</summary>
    Baseline,
}

/// <summary>
/// The identity of one evaluation: which ingredient, which set of ingredients, or which baseline. Its text
/// (<see cref="ToString"/>: <c>ingredient:3</c>, <c>soup:0,2,5</c>, <c>uniform:all</c>) is how evaluation stores
/// and journals record it; code reads the typed parts instead of parsing that text.
/// </summary>
public sealed class EvaluationKey : IEquatable<EvaluationKey>
{
    private readonly string _text;

    private EvaluationKey(EvaluationKind kind, IReadOnlyList<int> members, string text)
    {
        Kind = kind;
        Members = members;
        _text = text;
    }

    /// <summary>Which kind of evaluation.</summary>
    public EvaluationKind Kind { get; }

    /// <summary>The ingredient indices involved, ascending (one for an ingredient, none for a baseline).</summary>
    public IReadOnlyList<int> Members { get; }

    /// <summary>The ingredient's index; only for <see cref="EvaluationKind.Ingredient"/>.</summary>
    public int IngredientIndex => Kind == EvaluationKind.Ingredient ? Members[0] : throw new InvalidOperationException($"{_text} is not an ingredient's evaluation.");

    /// <summary>Ingredient <paramref name="index"/>'s own evaluation.</summary>
    public static EvaluationKey Ingredient(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new(EvaluationKind.Ingredient, [index], "ingredient:" + index.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The uniform mean of <paramref name="members"/> (order-free: the same set is the same key).</summary>
    public static EvaluationKey Soup(IEnumerable<int> members)
    {
        var sorted = members.Order().ToArray();
        return new(EvaluationKind.Soup, sorted, "soup:" + string.Join(",", sorted.Select(m => m.ToString(CultureInfo.InvariantCulture))));
    }

    /// <summary>A named baseline, e.g. <c>uniform:all</c>.</summary>
    public static EvaluationKey Baseline(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new(EvaluationKind.Baseline, [], name);
    }

    /// <summary>The stored spelling.</summary>
    public override string ToString() => _text;

    /// <inheritdoc/>
    public bool Equals(EvaluationKey? other) => other is not null && other._text == _text;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as EvaluationKey);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);
}
