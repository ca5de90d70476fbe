namespace ModelSoups.Merging;

/// <summary>The type of a merge parameter's value, as a recipe spells it.</summary>
public enum ParameterKind
{
    /// <summary>A real number (<see cref="double"/>); may vary by tensor (gradients, filters).</summary>
    Number,
    /// <summary>A whole number stored as <see cref="double"/> (layer counts, model indices).</summary>
    Integer,
    /// <summary>true / false (<see cref="bool"/>).</summary>
    Flag,
    /// <summary>One of a fixed set of words (<see cref="string"/>).</summary>
    Choice,
}
