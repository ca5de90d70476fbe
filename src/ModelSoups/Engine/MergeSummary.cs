namespace ModelSoups.Engine;

/// <summary>What a finished merge did.</summary>
public sealed record MergeSummary
{
    /// <summary>The output folder.</summary>
    public required string OutputFolder { get; init; }

    /// <summary>Tensors merged by the method.</summary>
    public required int TensorsMerged { get; init; }

    /// <summary>Tensors copied unchanged.</summary>
    public required int TensorsCopied { get; init; }

    /// <summary>Bytes read from the inputs for the merge (hashing not counted).</summary>
    public required long InputBytes { get; init; }

    /// <summary>Bytes of weights written.</summary>
    public required long OutputBytes { get; init; }

    /// <summary>Wall time, whole run.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Wall time spent hashing inputs for provenance.</summary>
    public required TimeSpan HashingTime { get; init; }

    /// <summary>Highest working memory rented from the budget.</summary>
    public required long PeakWorkingBytes { get; init; }

    /// <summary>Most scratch one method call took (inside <see cref="PeakWorkingBytes"/>): what the methods' own working arrays needed.</summary>
    public long PeakScratchBytes { get; init; }

    /// <summary>Highest anonymous resident memory of the process seen while merging (Linux), or null.</summary>
    public long? PeakRssAnonBytes { get; init; }

    /// <summary>The output's shard files.</summary>
    public required IReadOnlyList<string> ShardFiles { get; init; }

    /// <summary>Notes from the plan (copied tensors that differ, duplicates dropped).</summary>
    public required IReadOnlyList<string> Notes { get; init; }
}
