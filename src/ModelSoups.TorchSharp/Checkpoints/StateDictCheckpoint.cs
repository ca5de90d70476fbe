using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.TorchSharp.Checkpoints;

/// <summary>
/// An in-memory <see cref="ICheckpoint"/> over (info, bytes) pairs, e.g. a module's state_dict from
/// <see cref="ModuleState.Export"/>: hand it to a checkpoint writer or a merge without touching disk.
/// </summary>
public sealed class StateDictCheckpoint : ICheckpoint
{
    readonly SortedDictionary<string, TensorRef> _tensors = new(StringComparer.Ordinal);

    /// <summary>Wraps the tensors (not copied); names must be unique and sizes must match the infos.</summary>
    public StateDictCheckpoint(IEnumerable<(TensorInfo Info, byte[] Data)> tensors, string location = "memory",
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        Location = location;
        Metadata = metadata ?? new Dictionary<string, string>();
        foreach (var (info, data) in tensors)
        {
            if (data.LongLength != info.ByteLength)
                throw new ArgumentException($"tensor '{info.Name}' has {data.LongLength} bytes, its info says {info.ByteLength}");
            if (!_tensors.TryAdd(info.Name, new ArrayTensorRef(info, data)))
                throw new ArgumentException($"tensor '{info.Name}' appears twice");
        }
    }

    public string Location { get; }
    public string? Folder => null;
    public IReadOnlyDictionary<string, TensorRef> Tensors => _tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyList<string> Files => [];
    public void Dispose() { }

    sealed class ArrayTensorRef(TensorInfo info, byte[] data) : TensorRef
    {
        public override TensorInfo Info => info;
        public override string? SourcePath => null;
        public override ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount) =>
            data.AsSpan(checked((int)byteOffset), byteCount);
    }
}
