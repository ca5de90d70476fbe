using ModelSoups.Tensors;

namespace ModelSoups.Checkpoints;

/// <summary>A tensor whose bytes live in a managed array (tests, small in-process soups).</summary>
public sealed class InMemoryTensor : TensorRef
{
    /// <summary>The raw little-endian bytes; length is exactly <see cref="TensorRef.ByteLength"/>.</summary>
    public byte[] Data { get; }

    public override TensorInfo Info { get; }
    public override string? SourcePath => null;

    /// <summary>Wraps <paramref name="data"/> (not copied).</summary>
    public InMemoryTensor(TensorInfo info, byte[] data)
    {
        if (data.LongLength != info.ByteLength)
            throw new ArgumentException($"tensor '{info.Name}' has {data.LongLength} bytes but {info.DType.SafetensorsName()} {info.ShapeText} needs {info.ByteLength}.", nameof(data));
        Info = info;
        Data = data;
    }

    public override ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount)
    {
        if (byteOffset < 0 || byteCount < 0 || byteOffset > Data.LongLength - byteCount)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + byteCount}) are outside tensor '{Name}' ({Data.LongLength} bytes).");
        return Data.AsSpan((int)byteOffset, byteCount);
    }
}
