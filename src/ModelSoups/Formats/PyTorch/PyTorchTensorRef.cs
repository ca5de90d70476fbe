using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// A tensor of a <c>torch.save</c> file as a user sees it in PyTorch: a row-major little-endian
/// view is a zero-copy slice of the mapped storage; any other view (a transpose, a slice with
/// strides, a broadcast, big-endian data) is gathered element by element into a fresh buffer for
/// exactly the bytes asked for, so large tensors still stream block by block.
/// </summary>
internal sealed class PyTorchTensorRef : TensorRef
{
    readonly TorchTensor _tensor;
    readonly bool _bigEndian;
    readonly bool _direct;
    readonly int _elementSize;

    public override TensorInfo Info { get; }
    public override string? SourcePath { get; }

    public PyTorchTensorRef(string name, TorchTensor tensor, bool bigEndian, string path)
    {
        tensor.Validate(name, path);
        _tensor = tensor;
        _bigEndian = bigEndian;
        var dtype = tensor.DType!.Value;
        _elementSize = dtype.Size();
        Info = new TensorInfo(name, dtype, (long[])tensor.Shape.Clone());
        SourcePath = path;
        _direct = tensor.IsRowMajor && (!bigEndian || _elementSize == 1);
    }

    public override void CheckUnchanged() => _tensor.Storage.CheckUnchanged();

    public override void ReadInto(long byteOffset, Span<byte> destination)
    {
        long length = Info.ByteLength;
        if (byteOffset < 0 || byteOffset > length - destination.Length)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + destination.Length}) are outside tensor '{Name}' ({length} bytes).");
        if (destination.Length == 0) return;
        // Row-major views read their run of the storage positionally; other views are gathered (from the mapping).
        if (_direct) _tensor.Storage.Read(_tensor.Offset * _elementSize + byteOffset, destination);
        else Gather(byteOffset, destination.Length).CopyTo(destination);
    }

    public override ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount)
    {
        long length = Info.ByteLength;
        if (byteOffset < 0 || byteCount < 0 || byteOffset > length - byteCount)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + byteCount}) are outside tensor '{Name}' ({length} bytes).");
        if (byteCount == 0) return ReadOnlySpan<byte>.Empty;
        if (_direct) return _tensor.Storage.Slice(_tensor.Offset * _elementSize + byteOffset, byteCount);
        return Gather(byteOffset, byteCount);
    }

    ReadOnlySpan<byte> Gather(long byteOffset, int byteCount)
    {
        int es = _elementSize;
        long first = byteOffset / es;
        long end = (byteOffset + byteCount + es - 1) / es;
        var buffer = new byte[checked((int)((end - first) * es))];
        var storage = _tensor.Storage;
        if (storage.ByteLength <= int.MaxValue)
        {
            // The whole storage as one span; then a typed copy along the innermost dimension.
            var src = storage.Slice(0, (int)storage.ByteLength);
            switch (es)
            {
                case 1: GatherTyped(src, buffer.AsSpan(), first, end); break;
                case 2: GatherTyped(MemoryMarshal.Cast<byte, ushort>(src), MemoryMarshal.Cast<byte, ushort>(buffer.AsSpan()), first, end); break;
                case 4: GatherTyped(MemoryMarshal.Cast<byte, uint>(src), MemoryMarshal.Cast<byte, uint>(buffer.AsSpan()), first, end); break;
                default: GatherTyped(MemoryMarshal.Cast<byte, ulong>(src), MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan()), first, end); break;
            }
        }
        else GatherSlow(buffer, first, end);
        if (_bigEndian)
            switch (es)
            {
                case 2: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ushort>(buffer.AsSpan()), MemoryMarshal.Cast<byte, ushort>(buffer.AsSpan())); break;
                case 4: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, uint>(buffer.AsSpan()), MemoryMarshal.Cast<byte, uint>(buffer.AsSpan())); break;
                case 8: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan()), MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan())); break;
            }
        return buffer.AsSpan((int)(byteOffset - first * es), byteCount);
    }

    /// <summary>
    /// Elements [<paramref name="first"/>, <paramref name="end"/>) in row-major order: an odometer over the
    /// outer dimensions, a strided run along the innermost one. Indices were bounds-checked at open
    /// (<see cref="TorchTensor.Validate"/>), and the span indexer checks them again.
    /// </summary>
    void GatherTyped<T>(ReadOnlySpan<T> src, Span<T> dst, long first, long end) where T : unmanaged
    {
        var (shape, stride) = Dims();
        int rank = shape.Length;
        var (index, at) = Start(shape, stride, first);

        int last = rank - 1;
        long innerSize = shape[last], innerStride = stride[last];
        long e = first;
        int o = 0;
        while (e < end)
        {
            long run = Math.Min(innerSize - index[last], end - e);
            for (long k = 0; k < run; k++) dst[o++] = src[(int)(at + k * innerStride)];
            e += run;
            index[last] += run;
            at += run * innerStride;
            if (index[last] < innerSize) break;   // the block ended inside a row
            at -= innerSize * innerStride;
            index[last] = 0;
            for (int d = last - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                {
                    at += stride[d];
                    break;
                }
                at -= (shape[d] - 1) * stride[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>The multi-index of logical element <paramref name="first"/> (row-major) and its storage element offset.</summary>
    (long[] Index, long At) Start(long[] shape, long[] stride, long first)
    {
        var index = new long[shape.Length];
        long rest = first;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        long at = _tensor.Offset;
        for (int d = 0; d < shape.Length; d++) at += index[d] * stride[d];
        return (index, at);
    }

    /// <summary>Storages over 2 GiB cannot be one span: element by element through the storage instead.</summary>
    void GatherSlow(byte[] buffer, long first, long end)
    {
        int es = _elementSize;
        var (shape, stride) = Dims();
        int rank = shape.Length;
        var (index, at) = Start(shape, stride, first);
        for (long e = first, o = 0; e < end; e++, o += es)
        {
            _tensor.Storage.Slice(at * es, es).CopyTo(buffer.AsSpan((int)o, es));
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                {
                    at += stride[d];
                    break;
                }
                at -= (shape[d] - 1) * stride[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>Shape and strides, with a rank-0 tensor seen as one element of shape [1].</summary>
    (long[] Shape, long[] Stride) Dims() => _tensor.Shape.Length == 0 ? ([1], [1]) : (_tensor.Shape, _tensor.Stride);
}
