using ModelSoups.Tensors;

namespace ModelSoups.Checkpoints;

/// <summary>A checkpoint held in managed memory: for tests and for soups small enough to build in process.</summary>
public sealed class InMemoryCheckpoint : ICheckpoint
{
    public string Location { get; }
    public string? Folder => null;
    public IReadOnlyDictionary<string, TensorRef> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyList<string> Files => [];

    /// <summary>Wraps the given tensors (arrays are not copied); names must be unique.</summary>
    public InMemoryCheckpoint(IEnumerable<(TensorInfo Info, byte[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null, string location = "(in memory)")
    {
        Location = location;
        Metadata = metadata ?? new Dictionary<string, string>();
        var list = tensors.Select(t => new InMemoryTensor(t.Info, t.Data)).ToList();
        var map = new OrderedDictionary<string, TensorRef>(list.Count, StringComparer.Ordinal);
        foreach (var t in list.OrderBy(t => t.Name, StringComparer.Ordinal))
            if (!map.TryAdd(t.Name, t))
                throw new ArgumentException($"tensor '{t.Name}' is given twice.", nameof(tensors));
        Tensors = map;
    }

    /// <summary>Copies every tensor and the metadata of <paramref name="source"/> into memory.</summary>
    public static InMemoryCheckpoint CopyOf(ICheckpoint source)
    {
        var tensors = source.Tensors.Values.Select(t =>
        {
            var data = new byte[t.ByteLength];
            const int Block = 1 << 30;
            for (long off = 0; off < data.LongLength; off += Block)
            {
                int n = (int)Math.Min(Block, data.LongLength - off);
                t.GetBytes(off, n).CopyTo(data.AsSpan((int)off, n));
            }
            return (t.Info, data);
        }).ToList();
        return new InMemoryCheckpoint(tensors, new Dictionary<string, string>(source.Metadata), source.Location);
    }

    /// <summary>Nothing to release.</summary>
    public void Dispose() { }
}
