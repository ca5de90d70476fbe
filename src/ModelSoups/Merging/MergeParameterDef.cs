using System.Globalization;

namespace ModelSoups.Merging;

/// <summary>
/// Declares one parameter of a merge method so a recipe validator can check it before any tensor
/// is read (the role of mergekit's <c>ConfigParameterDef</c>). Ranges are for Number/Integer kinds.
/// </summary>
/// <param name="Name">The recipe key, e.g. "density".</param>
/// <param name="Scope">Global or per input model.</param>
/// <param name="Kind">Value type.</param>
/// <param name="Default">Value when the recipe gives none: double, bool or string; null means required.</param>
/// <param name="Description">One line for help text and docs.</param>
public sealed record MergeParameterDef(string Name, ParameterScope Scope, ParameterKind Kind, object? Default, string Description)
{
    /// <summary>Smallest allowed value (numbers).</summary>
    public double Min { get; init; } = double.NegativeInfinity;
    /// <summary>Largest allowed value (numbers).</summary>
    public double Max { get; init; } = double.PositiveInfinity;
    /// <summary>Whether <see cref="Min"/> itself is allowed.</summary>
    public bool MinInclusive { get; init; } = true;
    /// <summary>Whether <see cref="Max"/> itself is allowed.</summary>
    public bool MaxInclusive { get; init; } = true;
    /// <summary>Allowed words for <see cref="ParameterKind.Choice"/>.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>True when the recipe must give a value.</summary>
    public bool Required => Default is null;

    /// <summary>The allowed range as a reader writes it, e.g. "(0, 1]".</summary>
    public string RangeText => Kind switch
    {
        ParameterKind.Choice => string.Join(" | ", Choices),
        ParameterKind.Flag => "true | false",
        _ => (MinInclusive ? "[" : "(") + Num(Min) + ", " + Num(Max) + (MaxInclusive ? "]" : ")"),
    };

    static string Num(double v) => double.IsNegativeInfinity(v) ? "-inf" : double.IsPositiveInfinity(v) ? "inf" : v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Null when <paramref name="value"/> is allowed, else why not (a sentence fragment).</summary>
    public string? Check(object value)
    {
        switch (Kind)
        {
            case ParameterKind.Flag:
                return value is bool ? null : "must be true or false";
            case ParameterKind.Choice:
                return value is string s && Choices.Contains(s) ? null : $"must be one of {RangeText}";
            default:
                if (value is not double d) return "must be a number";
                if (double.IsNaN(d) || (double.IsInfinity(d) && !double.IsInfinity(Min) && !double.IsInfinity(Max))) return $"must be a finite number in {RangeText}";
                if (Kind == ParameterKind.Integer && d != Math.Floor(d)) return "must be a whole number";
                bool lowOk = MinInclusive ? d >= Min : d > Min;
                bool highOk = MaxInclusive ? d <= Max : d < Max;
                return lowOk && highOk && !double.IsInfinity(d) ? null : $"must be in {RangeText}";
        }
    }
}
