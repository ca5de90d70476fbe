using ModelSoups.Checkpoints;
using ModelSoups.Formats.HuggingFace;

namespace ModelSoups.Engine;

/// <summary>How the engine runs (not what it computes: that is the recipe).</summary>
public sealed record MergeOptions
{
    /// <summary>Worker threads; default all cores.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Cap on the engine's working memory (compute buffers), bytes. Default 2 GiB.</summary>
    public long MemoryBudgetBytes { get; init; } = 2L << 30;

    /// <summary>Largest shard file, bytes (Hugging Face's max_shard_size; default 5GB).</summary>
    public long MaxShardBytes { get; init; } = ShardSize.Default;

    /// <summary>Replace a non-empty destination (the old one is removed only after the new one is complete).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Largest block of an element-wise tensor processed at once, in elements.</summary>
    public int MaxBlockElements { get; init; } = 1 << 20;

    /// <summary>Record SHA-256 of every input file in the output (provenance). On by default.</summary>
    public bool HashInputs { get; init; } = true;

    /// <summary>Called about every 100 ms from a background thread while merging.</summary>
    public Action<MergeProgress>? Progress { get; init; }

    /// <summary>How inputs that are PyTorch files are read (state dict key, prefix to strip); applies to every input.</summary>
    public CheckpointOpenOptions Open { get; init; } = CheckpointOpenOptions.Default;

    /// <summary>Keep non-finite values (NaN, ±Inf) the merge makes instead of failing (they are reported as a note).</summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>Leave the creation time out of the provenance, for byte-reproducible outputs (see <see cref="CreationTime"/>).</summary>
    public bool NoTimestamp { get; init; }

    /// <summary>
    /// Inputs the caller has open already, by full path (e.g. <c>soup greedy</c>'s ingredients): the plan reads these
    /// instead of opening and parsing the files again, and leaves them open. Slice recipes open their own.
    /// </summary>
    public IReadOnlyDictionary<string, ICheckpoint>? OpenedInputs { get; init; }

    /// <summary>
    /// Lent inputs already checked to line up (<see cref="Soups.IngredientLineup.Check"/>: <c>soup greedy</c>'s
    /// ingredients): when it covers every model of a whole-model plan, the plan takes their names, shapes and
    /// non-float dtypes as checked and does not compare the headers again. Otherwise it is ignored.
    /// </summary>
    public Soups.IngredientLineup? LinedUp { get; init; }

    /// <summary>Extra entries for the provenance block of <c>soup-recipe.yaml</c> (e.g. a greedy soup's scores).</summary>
    public IReadOnlyDictionary<string, object>? Provenance { get; init; }
}

/// <summary>A progress snapshot.</summary>
/// <param name="TensorsDone">Output tensors finished.</param>
/// <param name="TensorsTotal">Output tensors in the plan.</param>
/// <param name="BytesDone">Input bytes processed (plus hashed), of <paramref name="BytesTotal"/>.</param>
/// <param name="BytesTotal">Input bytes the run reads.</param>
/// <param name="Elapsed">Time since the run started.</param>
public sealed record MergeProgress(int TensorsDone, int TensorsTotal, long BytesDone, long BytesTotal, TimeSpan Elapsed)
{
    /// <summary>Input bytes per second so far.</summary>
    public double BytesPerSecond => Elapsed.TotalSeconds > 0 ? BytesDone / Elapsed.TotalSeconds : 0;

    /// <summary>Estimated time left, or null before there is a rate.</summary>
    public TimeSpan? Eta => BytesDone > 0 && BytesPerSecond > 0 ? TimeSpan.FromSeconds((BytesTotal - BytesDone) / BytesPerSecond) : null;
}
