namespace ModelSoups.Checkpoints;

/// <summary>
/// One logical model: tensor name → tensor, possibly spread over several shard files.
/// Opened read-only; inputs are never modified. Dispose to unmap the files.
/// </summary>
public interface ICheckpoint : IDisposable
{
    /// <summary>Where it was opened from: a folder, a file, or a description of a file list.</summary>
    string Location { get; }

    /// <summary>The folder holding the weights (for config/tokenizer files); null for in-memory checkpoints.</summary>
    string? Folder { get; }

    /// <summary>Tensors by name, in a stable order (sorted by name, ordinal).</summary>
    IReadOnlyDictionary<string, TensorRef> Tensors { get; }

    /// <summary>The safetensors <c>__metadata__</c> of the first shard (string → string), empty when absent.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The weight files it reads, absolute paths, in shard order.</summary>
    IReadOnlyList<string> Files { get; }

    /// <summary>What the reader chose for the user, one line each (e.g. which key of a nested PyTorch checkpoint held the state dict); usually empty.</summary>
    IReadOnlyList<string> Notes => [];
}
