namespace ModelSoups.Formats.HuggingFace;

/// <summary>Shard sizes of Hugging Face checkpoints; user-typed sizes are parsed by <see cref="ByteSize.Parse"/>.</summary>
public static class ShardSize
{
    /// <summary>transformers' default <c>max_shard_size</c>: "5GB" = 5,000,000,000 bytes.</summary>
    public const long Default = 5_000_000_000;
}
