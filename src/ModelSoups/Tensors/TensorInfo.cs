namespace ModelSoups.Tensors;

/// <summary>What a header says about one tensor: its name, element type and shape.</summary>
public sealed record TensorInfo(string Name, DType DType, long[] Shape)
{
    /// <summary>Product of the shape (1 for rank 0; 0 when any dimension is 0).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <summary>Bytes of data: element count × dtype size.</summary>
    public long ByteLength => checked(ElementCount * DType.Size());

    /// <summary>Shape as the user reads it, e.g. "[768, 3072]".</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>True when both have the same shape (dtype may differ).</summary>
    public bool SameShape(TensorInfo other) => Shape.AsSpan().SequenceEqual(other.Shape);
}
