namespace ModelSoups.Formats.Safetensors;

/// <summary>A safetensors file that breaks one rule of the format; <see cref="Kind"/> says which.</summary>
public sealed class SafetensorsFormatException : ModelSoupsException
{
    /// <summary>The rule that was broken.</summary>
    public SafetensorsErrorKind Kind { get; }

    public SafetensorsFormatException(SafetensorsErrorKind kind, string message, string path, Exception? inner = null)
        : base(message, path, inner) => Kind = kind;
}
