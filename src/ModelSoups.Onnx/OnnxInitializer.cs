namespace ModelSoups.Onnx;

/// <summary>One initializer of an ONNX graph: name, element type, dims and where its encoded field lies.</summary>
/// <param name="Name">Initializer name (what checkpoint tensors are matched against).</param>
/// <param name="DataType">Element type.</param>
/// <param name="Dims">Shape.</param>
/// <param name="FieldOffset">Offset of the whole encoded field (key included) within the graph payload.</param>
/// <param name="FieldLength">Length of the encoded field.</param>
/// <param name="IsExternal">True when its data lives in an external file (data_location = EXTERNAL).</param>
internal sealed record OnnxInitializer(string Name, OnnxDataType DataType, long[] Dims, int FieldOffset, int FieldLength, bool IsExternal)
{
    public long ElementCount => Dims.Aggregate(1L, (a, d) => checked(a * d));
    public string DimsText => "[" + string.Join(", ", Dims) + "]";
}

/// <summary>A graph input or output: name, element type and dims (-1 for a symbolic or unknown dimension).</summary>
internal sealed record OnnxValueInfo(string Name, OnnxDataType ElementType, long[]? Dims);
