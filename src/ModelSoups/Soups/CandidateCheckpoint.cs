using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>An in-memory checkpoint a soup builder hands to evaluators: tensors held in arrays.</summary>
internal sealed class CandidateCheckpoint : ICheckpoint
{
    private readonly SortedDictionary<string, TensorRef> _tensors = new(StringComparer.Ordinal);

    public CandidateCheckpoint(string location) => Location = location;

    public string Location { get; }
    public string? Folder => null;
    public IReadOnlyDictionary<string, TensorRef> Tensors => _tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();
    public IReadOnlyList<string> Files => [];

    public void Add(TensorInfo info, byte[] data) => _tensors[info.Name] = new ArrayTensor(info, data);

    public void Add(TensorInfo info, float[] data) => _tensors[info.Name] = new ArrayTensor(info, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());

    public void Dispose() { }

    private sealed class ArrayTensor(TensorInfo info, byte[] data) : TensorRef
    {
        public override TensorInfo Info => info;
        public override string? SourcePath => null;
        public override ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount) => data.AsSpan(checked((int)byteOffset), byteCount);
    }
}
