namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// Hard limits of the restricted unpickler, like the safetensors header limits: a hostile pickle
/// fails with <see cref="PyTorchErrorKind.LimitExceeded"/> before it can exhaust memory, the
/// stack or time. Each is far above what <c>torch.save</c> writes for real checkpoints (a state
/// dict costs about 20 operations, 12 memo entries and nesting depth 4 per tensor).
/// </summary>
public static class PickleLimits
{
    /// <summary>Largest pickle read (the <c>data.pkl</c> of a 100k-tensor checkpoint is a few MB).</summary>
    public const int MaxPickleBytes = 512 << 20;

    /// <summary>Most opcodes executed by one load.</summary>
    public const long MaxOperations = 100_000_000;

    /// <summary>Most memo entries (BINPUT / MEMOIZE).</summary>
    public const int MaxMemoEntries = 2_000_000;

    /// <summary>Most values on the stack at once.</summary>
    public const int MaxStackItems = 4_000_000;

    /// <summary>Most open MARKs at once (each is one level of nesting being built).</summary>
    public const int MaxMarkDepth = 1_000;

    /// <summary>Deepest nesting of tuples, and of dicts/lists walked when looking for tensors.</summary>
    public const int MaxNestingDepth = 100;

    /// <summary>Longest string or bytes object.</summary>
    public const int MaxStringBytes = 256 << 20;

    /// <summary>Longest module or name of a GLOBAL opcode.</summary>
    public const int MaxGlobalNameBytes = 512;

    /// <summary>Longest integer (LONG1/LONG4) in bytes: 256 bits.</summary>
    public const int MaxLongBytes = 32;

    /// <summary>Most entries (tensors and skipped values) in the flattened state dict.</summary>
    public const int MaxStateDictEntries = 4_000_000;

    /// <summary>
    /// Largest view that reads more bytes than its storage holds (a stride-0 broadcast, overlapping
    /// strides): without a cap a few bytes of file could claim terabytes of tensor.
    /// </summary>
    public const long MaxExpandedViewBytes = 64L << 20;

    /// <summary>Highest tensor rank accepted.</summary>
    public const int MaxRank = 64;
}
