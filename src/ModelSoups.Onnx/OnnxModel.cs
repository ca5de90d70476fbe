
namespace ModelSoups.Onnx;

/// <summary>
/// An ONNX ModelProto held as bytes, with its main graph's initializers, inputs and outputs indexed.
/// Field numbers from onnx/onnx.proto3: ModelProto.graph = 7; GraphProto.initializer = 5, input = 11,
/// output = 12; TensorProto dims = 1, data_type = 2, name = 8, raw_data = 9, external_data = 13,
/// data_location = 14. <see cref="WithInitializers"/> rewrites initializers by re-encoding only the
/// changed TensorProtos and the graph around them; every other byte is copied unchanged, so the model
/// is what its author exported, with new weights (and ONNX Runtime can optimise it fully).
/// </summary>
internal sealed class OnnxModel
{
    private const int ModelGraph = 7;
    private const int GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9, TensorExternalData = 13, TensorDataLocation = 14;

    private readonly byte[] _bytes;
    private readonly int _graphOffset, _graphLength;
    private readonly int _graphFieldOffset, _graphFieldLength;

    public string Path { get; }
    public Dictionary<string, OnnxInitializer> Initializers { get; } = new(StringComparer.Ordinal);
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];

    private OnnxModel(string path, byte[] bytes, int fieldOffset, int fieldLength, int graphOffset, int graphLength)
    {
        Path = path;
        _bytes = bytes;
        _graphFieldOffset = fieldOffset;
        _graphFieldLength = fieldLength;
        _graphOffset = graphOffset;
        _graphLength = graphLength;
    }

    /// <summary>Reads and indexes an ONNX file; <see cref="ModelSoupsException"/> when it is not a readable ONNX model.</summary>
    public static OnnxModel Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelSoupsException($"cannot read the ONNX model ({e.Message}).", path, e);
        }
        return Parse(path, bytes);
    }

    public static OnnxModel Parse(string path, byte[] bytes)
    {
        try
        {
            var r = new OnnxProtoReader(bytes);
            int? graphField = null, graphFieldLength = null, graphOffset = null, graphLength = null;
            while (true)
            {
                int start = r.Position;
                if (!r.Next(out int field, out int wire)) break;
                if (field == ModelGraph && wire == OnnxProtoReader.LengthDelimited)
                {
                    var (o, l) = r.ReadLengthDelimited();
                    if (graphField is not null) throw new FormatException("two graphs");
                    graphField = start; graphFieldLength = r.Position - start; graphOffset = o; graphLength = l;
                }
                else r.Skip(wire);
            }
            if (graphOffset is null)
                throw new ModelSoupsException("the file is not an ONNX model: it has no graph.", path);
            var model = new OnnxModel(path, bytes, graphField!.Value, graphFieldLength!.Value, graphOffset.Value, graphLength!.Value);
            model.IndexGraph();
            if (model.Outputs.Count == 0)
                throw new ModelSoupsException("the file is not an ONNX model: its graph has no outputs.", path);
            return model;
        }
        catch (FormatException e)
        {
            throw new ModelSoupsException($"the file is not a valid ONNX model (protobuf: {e.Message}).", path, e);
        }
        catch (OverflowException e)
        {
            throw new ModelSoupsException("the file is not a valid ONNX model (a field is out of range).", path, e);
        }
    }

    private ReadOnlySpan<byte> Graph => _bytes.AsSpan(_graphOffset, _graphLength);

    private void IndexGraph()
    {
        var r = new OnnxProtoReader(Graph);
        while (true)
        {
            int start = r.Position;
            if (!r.Next(out int field, out int wire)) break;
            if (wire != OnnxProtoReader.LengthDelimited || field is not (GraphInitializer or GraphInput or GraphOutput))
            {
                r.Skip(wire);
                continue;
            }
            var (o, l) = r.ReadLengthDelimited();
            var payload = Graph.Slice(o, l);
            if (field == GraphInitializer)
            {
                var init = ReadTensorHeader(payload, start, r.Position - start);
                if (!Initializers.TryAdd(init.Name, init))
                    throw new FormatException($"two initializers named '{init.Name}'");
            }
            else (field == GraphInput ? Inputs : Outputs).Add(ReadValueInfo(payload));
        }
    }

    private static OnnxInitializer ReadTensorHeader(ReadOnlySpan<byte> tensor, int fieldOffset, int fieldLength)
    {
        var r = new OnnxProtoReader(tensor);
        var dims = new List<long>();
        string name = "";
        long dataType = 0, location = 0;
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case TensorDims: r.ReadInt64s(wire, dims); break;
                case TensorDataType when wire == OnnxProtoReader.Varint: dataType = (long)r.ReadVarint(); break;
                case TensorName when wire == OnnxProtoReader.LengthDelimited: name = r.ReadString(); break;
                case TensorDataLocation when wire == OnnxProtoReader.Varint: location = (long)r.ReadVarint(); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxInitializer(name, (OnnxDataType)dataType, dims.ToArray(), fieldOffset, fieldLength, location == 1);
    }

    // ValueInfoProto: name = 1, type = 2; TypeProto.tensor_type = 1; Tensor: elem_type = 1, shape = 2;
    // TensorShapeProto.dim = 1; Dimension: dim_value = 1, dim_param = 2.
    private static OnnxValueInfo ReadValueInfo(ReadOnlySpan<byte> info)
    {
        var r = new OnnxProtoReader(info);
        string name = "";
        OnnxDataType elem = OnnxDataType.Undefined;
        List<long>? dims = null;
        while (r.Next(out int field, out int wire))
        {
            if (field == 1 && wire == OnnxProtoReader.LengthDelimited) { name = r.ReadString(); continue; }
            if (field != 2 || wire != OnnxProtoReader.LengthDelimited) { r.Skip(wire); continue; }
            var type = new OnnxProtoReader(r.ReadBytes());
            while (type.Next(out int tf, out int tw))
            {
                if (tf != 1 || tw != OnnxProtoReader.LengthDelimited) { type.Skip(tw); continue; }
                var tensor = new OnnxProtoReader(type.ReadBytes());
                while (tensor.Next(out int ef, out int ew))
                {
                    if (ef == 1 && ew == OnnxProtoReader.Varint) elem = (OnnxDataType)(long)tensor.ReadVarint();
                    else if (ef == 2 && ew == OnnxProtoReader.LengthDelimited)
                    {
                        dims = [];
                        var shape = new OnnxProtoReader(tensor.ReadBytes());
                        while (shape.Next(out int sf, out int sw))
                        {
                            if (sf != 1 || sw != OnnxProtoReader.LengthDelimited) { shape.Skip(sw); continue; }
                            var dim = new OnnxProtoReader(shape.ReadBytes());
                            long value = -1;
                            while (dim.Next(out int df, out int dw))
                            {
                                if (df == 1 && dw == OnnxProtoReader.Varint) value = (long)dim.ReadVarint();
                                else dim.Skip(dw);
                            }
                            dims.Add(value);
                        }
                    }
                    else tensor.Skip(ew);
                }
            }
        }
        return new OnnxValueInfo(name, elem, dims?.ToArray());
    }

    /// <summary>
    /// The model bytes with the named initializers' data replaced by <paramref name="replacements"/>
    /// (raw little-endian bytes of the initializer's own type and element count), and every external-data
    /// initializer inlined from its file, so the result loads from memory with no file beside it.
    /// </summary>
    public byte[] WithInitializers(IReadOnlyDictionary<string, byte[]> replacements)
    {
        var graph = new OnnxProtoWriter();
        var r = new OnnxProtoReader(Graph);
        var initByOffset = Initializers.Values.ToDictionary(i => i.FieldOffset);
        while (true)
        {
            int start = r.Position;
            if (!r.Next(out _, out int wire)) break;
            r.Skip(wire);
            var encoded = Graph[start..r.Position];
            if (initByOffset.TryGetValue(start, out var init) && (replacements.TryGetValue(init.Name, out var data) || init.IsExternal))
            {
                data ??= ReadExternal(init, encoded);
                var tensor = new OnnxProtoWriter()
                    .PackedInt64s(TensorDims, init.Dims)
                    .Int(TensorDataType, (long)init.DataType)
                    .String(TensorName, init.Name)
                    .Bytes(TensorRawData, data);
                graph.Message(GraphInitializer, tensor);
            }
            else graph.Raw(encoded);
        }
        var model = new OnnxProtoWriter();
        model.Raw(_bytes.AsSpan(0, _graphFieldOffset));
        model.Message(ModelGraph, graph);
        model.Raw(_bytes.AsSpan(_graphFieldOffset + _graphFieldLength));
        return model.ToArray();
    }

    /// <summary>Reads an external-data initializer's bytes (keys location, offset, length; paths relative to the model).</summary>
    private byte[] ReadExternal(OnnxInitializer init, ReadOnlySpan<byte> encodedField)
    {
        var outer = new OnnxProtoReader(encodedField);
        outer.Next(out _, out _);
        var r = new OnnxProtoReader(outer.ReadBytes());
        string? location = null;
        long offset = 0, length = -1;
        while (r.Next(out int field, out int wire))
        {
            if (field != TensorExternalData || wire != OnnxProtoReader.LengthDelimited) { r.Skip(wire); continue; }
            var entry = new OnnxProtoReader(r.ReadBytes());
            string key = "", value = "";
            while (entry.Next(out int ef, out int ew))
            {
                if (ef == 1 && ew == OnnxProtoReader.LengthDelimited) key = entry.ReadString();
                else if (ef == 2 && ew == OnnxProtoReader.LengthDelimited) value = entry.ReadString();
                else entry.Skip(ew);
            }
            switch (key)
            {
                case "location": location = value; break;
                case "offset": offset = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "length": length = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".";
        var file = location is null ? null : System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, location));
        if (file is null || !File.Exists(file))
            throw new ModelSoupsException($"initializer '{init.Name}' keeps its data in an external file that does not exist ('{location}').", Path);
        int size = OnnxElementSize(init.DataType);
        long expected = checked(init.ElementCount * size);
        if (length >= 0 && length != expected)
            throw new ModelSoupsException($"initializer '{init.Name}' says its external data is {length} bytes, its dims {init.DimsText} need {expected}.", Path);
        using var fs = File.OpenRead(file);
        if (offset < 0 || offset + expected > fs.Length)
            throw new ModelSoupsException($"initializer '{init.Name}' points past the end of its external data file.", file);
        var data = new byte[expected];
        fs.Position = offset;
        fs.ReadExactly(data);
        return data;
    }

    /// <summary>Bytes per element of an ONNX type (0 for types without a fixed size).</summary>
    public static int OnnxElementSize(OnnxDataType t) => t switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool => 1,
        OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
        OnnxDataType.Int64 or OnnxDataType.Double or OnnxDataType.UInt64 or OnnxDataType.Complex64 => 8,
        OnnxDataType.Complex128 => 16,
        _ => 0,
    };
}
