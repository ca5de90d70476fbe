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
        var shape = _tensor.Shape;
        var stride = _tensor.Stride;
        int rank = shape.Length;

        // Row-major index of element `first`, then an odometer over the dimensions.
        var index = new long[rank];
        long rest = first;
        for (int d = rank - 1; d >= 0; d--)
        {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        long at = _tensor.Offset;
        for (int d = 0; d < rank; d++) at += index[d] * stride[d];

        var storage = _tensor.Storage;
        for (long e = first, o = 0; e < end; e++, o += es)
        {
            var dst = buffer.AsSpan((int)o, es);
            storage.Slice(at * es, es).CopyTo(dst);
            if (_bigEndian) dst.Reverse();
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
        return buffer.AsSpan((int)(byteOffset - first * es), byteCount);
    }
}
