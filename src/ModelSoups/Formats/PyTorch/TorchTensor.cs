using ModelSoups.Tensors;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// A tensor as the pickle describes it (<c>_rebuild_tensor_v2(storage, offset, size, stride, ...)</c>):
/// a strided view of a storage. Offset and strides count elements of <see cref="DType"/>.
/// </summary>
internal sealed class TorchTensor(TorchStorage storage, DType? dtype, string dtypeName, long offset, long[] shape, long[] stride)
{
    public TorchStorage Storage { get; } = storage;
    public DType? DType { get; } = dtype;
    public string DTypeName { get; } = dtypeName;
    public long Offset { get; } = offset;
    public long[] Shape { get; } = shape;
    public long[] Stride { get; } = stride;

    /// <summary>Product of the shape; checked.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <summary>True when the elements are the storage's bytes in row-major order (no gather needed).</summary>
    public bool IsRowMajor
    {
        get
        {
            long expected = 1;
            for (int i = Shape.Length - 1; i >= 0; i--)
            {
                if (Shape[i] == 1) continue;   // a size-1 dimension's stride never matters
                if (Stride[i] != expected) return false;
                expected *= Shape[i];
            }
            return true;
        }
    }

    /// <summary>
    /// Checks the view stays inside its storage: offset ≥ 0, strides ≥ 0, and the last element it
    /// reaches, offset + Σ (size − 1) × stride, is inside the storage (in elements of the dtype).
    /// </summary>
    public void Validate(string name, string path)
    {
        if (DType is not { } dt)
            throw new PyTorchFormatException(PyTorchErrorKind.UnsupportedDType, $"tensor '{name}' has dtype {DTypeName}, which this toolkit does not read.", path);
        if (!Storage.IsBound)
            throw new PyTorchFormatException(PyTorchErrorKind.StorageSizeMismatch, $"tensor '{name}' uses storage '{Storage.Key}', whose data record is missing.", path);
        try
        {
            long count = ElementCount;
            if (count == 0) return;
            long last = Offset;
            for (int i = 0; i < Shape.Length; i++) last = checked(last + (Shape[i] - 1) * Stride[i]);
            long storageElements = Storage.ByteLength / dt.Size();
            if (last >= storageElements)
                throw new PyTorchFormatException(PyTorchErrorKind.ViewOutOfRange,
                    $"tensor '{name}' (offset {Offset}, shape [{string.Join(", ", Shape)}], strides [{string.Join(", ", Stride)}]) reaches element {last} of storage '{Storage.Key}', which has {storageElements}.", path);
            long bytes = checked(count * dt.Size());
            if (bytes > Storage.ByteLength && bytes > PickleLimits.MaxExpandedViewBytes)
                throw new PyTorchFormatException(PyTorchErrorKind.ViewOutOfRange,
                    $"tensor '{name}' expands {Storage.ByteLength} bytes of storage into {bytes} bytes (strides [{string.Join(", ", Stride)}]), more than the limit of {PickleLimits.MaxExpandedViewBytes} for overlapping views.", path);
        }
        catch (OverflowException e)
        {
            throw new PyTorchFormatException(PyTorchErrorKind.ViewOutOfRange, $"tensor '{name}': its shape and strides overflow 64 bits.", path, e);
        }
    }
}
