namespace ModelSoups.Formats.HuggingFace;

/// <summary>A checkpoint folder, shard index or file list that is inconsistent; <see cref="Kind"/> says how.</summary>
public sealed class HfCheckpointException : ModelSoupsException
{
    /// <summary>The rule that was broken.</summary>
    public HfCheckpointErrorKind Kind { get; }

    public HfCheckpointException(HfCheckpointErrorKind kind, string message, string path, Exception? inner = null)
        : base(message, path, inner) => Kind = kind;
}
