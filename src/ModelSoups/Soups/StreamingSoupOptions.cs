using ModelSoups.Checkpoints;
using ModelSoups.Formats.HuggingFace;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>Settings of a <see cref="StreamingSoupBuilder"/>.</summary>
public sealed record StreamingSoupOptions
{
    /// <summary>Where the scratch sum file and temporary candidate folders go (created when needed).</summary>
    public required string ScratchFolder { get; init; }

    /// <summary>The running f64 sum is kept in memory when it takes at most half of this; else in a memory-mapped file.</summary>
    public long MemoryBudgetBytes { get; init; } = 2L << 30;

    /// <summary>Source of non-float tensors (when of the same dtype and shape); null: the soup's first member.</summary>
    public ICheckpoint? Base { get; init; }

    /// <summary>Output dtype of float tensors; null: the dtype of the soup's first member.</summary>
    public DType? OutDType { get; init; }

    /// <summary>Folder whose config/tokenizer files are copied into candidate folders; null: the first member's folder.</summary>
    public string? ConfigSource { get; init; }

    /// <summary>Largest shard of a candidate folder.</summary>
    public long MaxShardBytes { get; init; } = ShardSize.Default;
}
