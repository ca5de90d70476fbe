using ModelSoups.Tensors;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// One storage of a <c>torch.save</c> file: a run of bytes that any number of tensors view
/// (tied weights share one). Mapped from the file when the record is stored uncompressed (as
/// <c>torch.save</c> writes it); a deflated zip record is inflated once, on first use.
/// </summary>
internal sealed class TorchStorage
{
    FileMapping? _mapping;
    long _fileOffset;
    Lazy<byte[]>? _inflated;

    /// <summary>The storage key (zip record name under <c>data/</c>, or the legacy root key).</summary>
    public string Key { get; }

    /// <summary>The storage type of the persistent id, e.g. <c>torch.FloatStorage</c>.</summary>
    public PyGlobal Type { get; }

    /// <summary>Element type of the storage type (null: one this toolkit does not read).</summary>
    public DType? DType => Type.DType;

    /// <summary>Elements the persistent id declares.</summary>
    public long DeclaredElements { get; }

    /// <summary>Bytes of data, once the record is located; -1 before.</summary>
    public long ByteLength { get; private set; } = -1;

    public TorchStorage(string key, PyGlobal type, long declaredElements)
    {
        Key = key;
        Type = type;
        DeclaredElements = declaredElements;
    }

    public bool IsBound => ByteLength >= 0;

    /// <summary>Throws when the file behind a mapped storage changed since it was opened (see <see cref="FileMapping.CheckUnchanged"/>).</summary>
    public void CheckUnchanged() => _mapping?.CheckUnchanged();

    /// <summary>Where a mapped storage starts in its file.</summary>
    public long FileOffset => _fileOffset;

    public void BindMapped(FileMapping mapping, long fileOffset, long length)
    {
        _mapping = mapping;
        _fileOffset = fileOffset;
        ByteLength = length;
    }

    public void BindInflated(long length, Func<byte[]> inflate)
    {
        _inflated = new Lazy<byte[]>(inflate, LazyThreadSafetyMode.ExecutionAndPublication);
        ByteLength = length;
    }

    /// <summary>Bytes [<paramref name="offset"/>, + <paramref name="destination"/>.Length) of the storage: positional reads of a mapped storage's file, a copy of an inflated one.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > ByteLength - destination.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + destination.Length}) are outside storage '{Key}' ({ByteLength} bytes).");
        if (_mapping is not null) _mapping.Read(_fileOffset + offset, destination);
        else Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <summary>Bytes [<paramref name="offset"/>, +<paramref name="count"/>) of the storage.</summary>
    public ReadOnlySpan<byte> Slice(long offset, int count)
    {
        if (offset < 0 || count < 0 || offset > ByteLength - count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + count}) are outside storage '{Key}' ({ByteLength} bytes).");
        if (_mapping is not null) return _mapping.Slice(_fileOffset + offset, count);
        if (_inflated is not null) return _inflated.Value.AsSpan(checked((int)offset), count);
        throw new InvalidOperationException($"storage '{Key}' was never located.");
    }
}
