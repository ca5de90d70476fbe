namespace ModelSoups.Onnx.Format;

/// <summary>
/// Writes a small ONNX model (<c>ModelProto</c> with one graph) as protobuf bytes that
/// <see cref="OnnxModel.Parse"/> and ONNX Runtime read: nodes in the order added, initializers
/// (raw_data, packed float_data or external data), typed inputs and outputs. Field numbers are onnx/onnx.proto's.
/// </summary>
public sealed class OnnxModelBuilder
{
    readonly ProtoWriter _nodes = new(), _initializers = new(), _inputs = new(), _outputs = new();
    int _nodeCount;

    /// <summary><c>ir_version</c>; 8 matches opset 13-17 exporters.</summary>
    public long IrVersion { get; init; } = 8;
    public string ProducerName { get; init; } = "modelsoups";
    public string GraphName { get; init; } = "graph";
    /// <summary>Operator set version of the default ONNX domain.</summary>
    public long Opset { get; init; } = 13;

    /// <summary>Adds an operator; its name is "{output}_node".</summary>
    public OnnxModelBuilder Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(3, outputs.Count > 0 ? outputs[0] + "_node" : $"node{_nodeCount}").String(4, opType);
        foreach (var a in attributes) node.Message(5, Attribute(a));
        _nodes.Message(1, node);
        _nodeCount++;
        return this;
    }

    /// <summary>Adds an initializer from raw little-endian bytes; <paramref name="encoding"/> is Raw, or FloatData for Float tensors.</summary>
    public OnnxModelBuilder Initializer(string name, OnnxDataType type, IReadOnlyList<long> dims, ReadOnlySpan<byte> data,
        OnnxTensorEncoding encoding = OnnxTensorEncoding.Raw)
    {
        var tensor = encoding switch
        {
            OnnxTensorEncoding.Raw => RawTensor(name, type, dims, data),
            OnnxTensorEncoding.FloatData when type == OnnxDataType.Float =>
                TensorHeader(name, type, dims).Bytes(4, data),   // packed float_data: the same little-endian bytes
            _ => throw new ArgumentException($"cannot write a {type} initializer as {encoding}.", nameof(encoding)),
        };
        _initializers.Message(5, tensor);
        return this;
    }

    /// <summary>Adds a Float initializer.</summary>
    public OnnxModelBuilder Initializer(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> values,
        OnnxTensorEncoding encoding = OnnxTensorEncoding.Raw) =>
        Initializer(name, OnnxDataType.Float, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values), encoding);

    /// <summary>Adds an initializer whose values live in <paramref name="location"/> (relative to the model file) at <paramref name="offset"/>.</summary>
    public OnnxModelBuilder ExternalInitializer(string name, OnnxDataType type, IReadOnlyList<long> dims, string location, long offset = 0, long? length = null)
    {
        var tensor = TensorHeader(name, type, dims);
        tensor.Message(13, Entry("location", location));
        if (offset != 0) tensor.Message(13, Entry("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (length is { } l) tensor.Message(13, Entry("length", l.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        tensor.Int(14, 1);   // data_location = EXTERNAL
        _initializers.Message(5, tensor);
        return this;
    }

    /// <summary>Declares a graph input; a null dimension is symbolic (<c>dim_param</c> "d{index}").</summary>
    public OnnxModelBuilder Input(string name, OnnxDataType type, params long?[] shape)
    {
        _inputs.Message(11, ValueInfo(name, type, shape));
        return this;
    }

    /// <summary>Declares a graph output; a null dimension is symbolic (<c>dim_param</c> "d{index}").</summary>
    public OnnxModelBuilder Output(string name, OnnxDataType type, params long?[] shape)
    {
        _outputs.Message(12, ValueInfo(name, type, shape));
        return this;
    }

    /// <summary>The model's protobuf bytes.</summary>
    public byte[] ToBytes()
    {
        var graph = new ProtoWriter()
            .Raw(_nodes.ToArray())
            .String(2, GraphName)
            .Raw(_initializers.ToArray())
            .Raw(_inputs.ToArray())
            .Raw(_outputs.ToArray());
        return new ProtoWriter()
            .Int(1, IrVersion)
            .String(2, ProducerName)
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Int(2, Opset))
            .ToArray();
    }

    /// <summary>A <c>TensorProto</c> with its values as raw_data (also what <see cref="OnnxModel.WithInitializers"/> writes).</summary>
    internal static ProtoWriter RawTensor(string name, OnnxDataType type, IReadOnlyList<long> dims, ReadOnlySpan<byte> data) =>
        TensorHeader(name, type, dims).Bytes(9, data);

    // TensorProto: dims = 1 (packed), data_type = 2, name = 8.
    static ProtoWriter TensorHeader(string name, OnnxDataType type, IReadOnlyList<long> dims) =>
        new ProtoWriter().PackedInt64s(1, dims).Int(2, (long)type).String(8, name);

    // StringStringEntryProto: key = 1, value = 2.
    static ProtoWriter Entry(string key, string value) => new ProtoWriter().String(1, key).String(2, value);

    // AttributeProto: name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, type = 20.
    static ProtoWriter Attribute(OnnxAttribute a)
    {
        var w = new ProtoWriter().String(1, a.Name);
        switch (a.Type)
        {
            case OnnxAttributeType.Float: w.Float(2, a.Float); break;
            case OnnxAttributeType.Int: w.Int(3, a.Int); break;
            case OnnxAttributeType.String: w.String(4, a.String); break;
            case OnnxAttributeType.Floats: w.PackedFloats(7, a.Floats); break;
            case OnnxAttributeType.Ints: w.PackedInt64s(8, a.Ints); break;
            default: throw new ArgumentException($"cannot write attribute '{a.Name}' of type {a.Type}.", nameof(a));
        }
        return w.Int(20, (long)a.Type);
    }

    // ValueInfoProto { name = 1, type = 2: TypeProto { tensor_type = 1: { elem_type = 1, shape = 2: { dim = 1: { dim_value = 1 | dim_param = 2 } } } } }
    static ProtoWriter ValueInfo(string name, OnnxDataType type, long?[] shape)
    {
        var dims = new ProtoWriter();
        for (int i = 0; i < shape.Length; i++)
            dims.Message(1, shape[i] is { } d ? new ProtoWriter().Int(1, d) : new ProtoWriter().String(2, $"d{i}"));
        var tensorType = new ProtoWriter().Int(1, (long)type).Message(2, dims);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
