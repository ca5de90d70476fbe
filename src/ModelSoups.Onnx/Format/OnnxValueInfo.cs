namespace ModelSoups.Onnx.Format;

/// <summary>A graph input or output (<c>ValueInfoProto</c>) with its tensor type.</summary>
/// <param name="Name">Value name.</param>
/// <param name="ElementType">Element type; Undefined when the type is not a tensor.</param>
/// <param name="Shape">Dimensions; null for a symbolic or unknown dimension (<c>dim_param</c>).</param>
public sealed record OnnxValueInfo(string Name, OnnxDataType ElementType, IReadOnlyList<long?> Shape)
{
    /// <summary>False when the type declares no shape at all (rank unknown); <see cref="Shape"/> is then empty.</summary>
    public bool HasShape { get; init; } = true;

    internal static OnnxValueInfo Parse(ProtoReader r)
    {
        string name = "";
        var elem = OnnxDataType.Undefined;
        var shape = new List<long?>();
        bool hasShape = false;
        while (!r.AtEnd)
        {
            int field = r.ReadTag(out int wire);
            if (field == 1) { r.Expect(wire, ProtoReader.WireLengthDelimited); name = r.ReadString(); }
            else if (field == 2) { r.Expect(wire, ProtoReader.WireLengthDelimited); ParseType(r.ReadMessage(), ref elem, shape, ref hasShape); }
            else r.Skip(wire);
        }
        return new OnnxValueInfo(name, elem, shape) { HasShape = hasShape };
    }

    // TypeProto { tensor_type = 1: { elem_type = 1, shape = 2: { dim = 1: { dim_value = 1 | dim_param = 2 } } } }
    static void ParseType(ProtoReader type, ref OnnxDataType elem, List<long?> shape, ref bool hasShape)
    {
        while (!type.AtEnd)
        {
            if (type.ReadTag(out int wire) != 1) { type.Skip(wire); continue; }
            type.Expect(wire, ProtoReader.WireLengthDelimited);
            var tensor = type.ReadMessage();
            while (!tensor.AtEnd)
            {
                int f = tensor.ReadTag(out int w);
                if (f == 1) { tensor.Expect(w, ProtoReader.WireVarint); elem = (OnnxDataType)tensor.ReadInt32(); }
                else if (f == 2)
                {
                    tensor.Expect(w, ProtoReader.WireLengthDelimited);
                    hasShape = true;
                    var shapeMsg = tensor.ReadMessage();
                    while (!shapeMsg.AtEnd)
                    {
                        if (shapeMsg.ReadTag(out int sw) != 1) { shapeMsg.Skip(sw); continue; }
                        shapeMsg.Expect(sw, ProtoReader.WireLengthDelimited);
                        var dim = shapeMsg.ReadMessage();
                        long? value = null;
                        while (!dim.AtEnd)
                        {
                            int df = dim.ReadTag(out int dw);
                            if (df == 1) { dim.Expect(dw, ProtoReader.WireVarint); value = dim.ReadInt64(); }
                            else dim.Skip(dw);
                        }
                        shape.Add(value);
                    }
                }
                else tensor.Skip(w);
            }
        }
    }
}
