namespace ModelSoups.Merging;

/// <summary>
/// The typed record of a method that takes no parameters (<see cref="ArceeFusion"/>): it is planned and handed to the
/// formula like every other method's record, so every method follows the one path (bound at planning, read by blocks).
/// </summary>
public sealed record NoParameters
{
    NoParameters() { }

    /// <summary>The one value.</summary>
    public static NoParameters Value { get; } = new();
}
