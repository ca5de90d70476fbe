using ModelSoups.Tensors;

namespace ModelSoups.Checkpoints;

/// <summary>
/// One tensor of a checkpoint, readable without copying: the bytes are a view into a
/// memory-mapped file (or an in-memory buffer). Large tensors are read in slices so that no
/// single span exceeds 2 GiB and callers can process them block by block.
/// </summary>
public abstract class TensorRef
{
    /// <summary>Name, dtype and shape.</summary>
    public abstract TensorInfo Info { get; }

    /// <summary>The file this tensor lives in (for messages and provenance); null for in-memory tensors.</summary>
    public abstract string? SourcePath { get; }

    /// <summary>
    /// A read-only view of <paramref name="byteCount"/> bytes starting <paramref name="byteOffset"/>
    /// bytes into this tensor's data. Valid while the owning checkpoint is open.
    /// </summary>
    public abstract ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount);

    /// <summary>
    /// Copies bytes [<paramref name="byteOffset"/>, + <paramref name="destination"/>.Length) of this tensor's data into
    /// <paramref name="destination"/>. File-backed tensors read them with positional reads (<c>pread</c>), never through
    /// the mapping, so a file that another process truncates meanwhile is an <see cref="EnvironmentFaultException"/>
    /// naming it rather than a SIGBUS that kills the process; this is how the merge engine reads its inputs.
    /// The default copies <see cref="GetBytes(long, int)"/> (in-memory tensors; strided PyTorch views, which are
    /// gathered from the mapping and guarded by <see cref="CheckUnchanged"/> only).
    /// </summary>
    public virtual void ReadInto(long byteOffset, Span<byte> destination) => GetBytes(byteOffset, destination.Length).CopyTo(destination);

    /// <summary>
    /// Throws <see cref="EnvironmentFaultException"/> when the file behind this tensor changed since it was opened
    /// (another process rewrote or truncated it); nothing for in-memory tensors.
    /// </summary>
    public virtual void CheckUnchanged() { }

    /// <summary>The whole tensor's bytes (throws when larger than 2 GiB; use <see cref="GetBytes(long, int)"/> then).</summary>
    public ReadOnlySpan<byte> GetBytes() => GetBytes(0, checked((int)Info.ByteLength));

    public string Name => Info.Name;
    public DType DType => Info.DType;
    public long[] Shape => Info.Shape;
    public long ElementCount => Info.ElementCount;
    public long ByteLength => Info.ByteLength;

    /// <summary>
    /// Same dtype, shape and bytes as <paramref name="other"/>, compared in 1 MiB slices read with
    /// <see cref="ReadInto"/> (never through the mappings): a hidden duplicate's two copies, or an integer tensor
    /// that every model should hold unchanged.
    /// </summary>
    public bool HasSameContent(TensorRef other)
    {
        const int Slice = 1 << 20;
        if (DType != other.DType || !Info.SameShape(other.Info) || ByteLength != other.ByteLength) return false;
        var x = new byte[(int)Math.Min(Slice, ByteLength)];
        var y = new byte[x.Length];
        for (long off = 0; off < ByteLength; off += Slice)
        {
            int n = (int)Math.Min(Slice, ByteLength - off);
            ReadInto(off, x.AsSpan(0, n));
            other.ReadInto(off, y.AsSpan(0, n));
            if (!x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, n))) return false;
        }
        return true;
    }
}
