using System.Globalization;

namespace ModelSoups.Onnx.Format;

/// <summary>
/// An ONNX model (<c>ModelProto</c>, onnx/onnx.proto) read from its protobuf bytes by a small,
/// dependency-free reader: metadata, opsets and the main graph. Tensor payloads are not copied;
/// they are views into <see cref="Bytes"/> with their offsets, so weights can be rewritten
/// (<see cref="WithInitializers"/>). Sub-graphs (If/Loop bodies), sparse initializers and training info are skipped.
/// </summary>
public sealed class OnnxModel
{
    const int ModelGraph = 7, GraphInitializer = 5;

    readonly (int Start, int PayloadStart, int End) _graphField;

    OnnxModel(byte[] bytes, string? path, long irVersion, string producer, IReadOnlyDictionary<string, long> opsets,
        OnnxGraph graph, (int, int, int) graphField)
    {
        Bytes = bytes; Path = path; IrVersion = irVersion; ProducerName = producer; Opsets = opsets; Graph = graph;
        _graphField = graphField;
    }

    /// <summary>The file's bytes (tensor offsets index into these).</summary>
    public byte[] Bytes { get; }
    /// <summary>The file the model was read from (external data is found beside it); null when parsed from bytes without one.</summary>
    public string? Path { get; }
    public long IrVersion { get; }
    public string ProducerName { get; }
    /// <summary>Operator set version per domain ("" is the default ONNX domain).</summary>
    public IReadOnlyDictionary<string, long> Opsets { get; }
    public OnnxGraph Graph { get; }

    /// <summary>Reads a whole .onnx file.</summary>
    public static OnnxModel Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxFormatException($"cannot read the ONNX file: {e.Message}", path);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses protobuf bytes; <paramref name="path"/> is used in error messages and to find external data.</summary>
    public static OnnxModel Parse(byte[] bytes, string? path = null)
    {
        var r = new ProtoReader(bytes, 0, bytes.Length, path);
        long ir = 0; string producer = "";
        var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
        OnnxGraph? graph = null;
        (int, int, int) graphField = default;
        while (!r.AtEnd)
        {
            int start = r.Position;
            int field = r.ReadTag(out int wire);
            switch (field)
            {
                case 1: r.Expect(wire, ProtoReader.WireVarint); ir = r.ReadInt64(); break;
                case 2: r.Expect(wire, ProtoReader.WireLengthDelimited); producer = r.ReadString(); break;
                case ModelGraph:
                    r.Expect(wire, ProtoReader.WireLengthDelimited);
                    if (graph is not null) throw r.Error("the model has two graphs");
                    var g = r.ReadMessage();
                    graph = OnnxGraph.Parse(g, bytes);
                    graphField = (start, g.Position, r.Position);
                    break;
                case 8:
                    r.Expect(wire, ProtoReader.WireLengthDelimited);
                    var op = r.ReadMessage();
                    string domain = ""; long version = 0;
                    while (!op.AtEnd)
                    {
                        int f = op.ReadTag(out int w);
                        if (f == 1) { op.Expect(w, ProtoReader.WireLengthDelimited); domain = op.ReadString(); }
                        else if (f == 2) { op.Expect(w, ProtoReader.WireVarint); version = op.ReadInt64(); }
                        else op.Skip(w);
                    }
                    opsets[domain] = version;
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (graph is null) throw new OnnxFormatException("not an ONNX model: it has no graph", path);
        if (ir <= 0) throw new OnnxFormatException("not an ONNX model: it has no ir_version", path);
        return new OnnxModel(bytes, path, ir, producer, opsets, graph, graphField);
    }

    /// <summary>
    /// The model's bytes with the named initializers' values replaced by <paramref name="replacements"/>
    /// (raw little-endian bytes of the initializer's own type and element count) and every external-data
    /// initializer inlined from its file, so the result loads from memory with no file beside it.
    /// Only the changed TensorProtos (re-encoded as dims, data_type, name, raw_data) and the graph's length
    /// prefix are written anew; every other byte is copied unchanged, so the model stays what its author exported.
    /// </summary>
    /// <exception cref="ArgumentException">A name that is not an initializer, or bytes that do not fit its type and dims.</exception>
    /// <exception cref="OnnxFormatException">External data that cannot be read.</exception>
    public byte[] WithInitializers(IReadOnlyDictionary<string, byte[]> replacements)
    {
        foreach (var (name, data) in replacements)
        {
            if (!Graph.InitializersByName.TryGetValue(name, out var t))
                throw new ArgumentException($"'{name}' is not an initializer of the graph.", nameof(replacements));
            if (data.Length != ByteLength(t))
                throw new ArgumentException($"{data.Length} bytes do not hold initializer '{name}' ({t.DataType} {t.DimsText}).", nameof(replacements));
        }
        var graph = new ProtoWriter();
        int copied = _graphField.PayloadStart;
        for (int i = 0; i < Graph.Initializers.Count; i++)
        {
            var t = Graph.Initializers[i];
            var data = replacements.TryGetValue(t.Name, out var d) ? d
                : t.Encoding == OnnxTensorEncoding.External ? ReadExternalData(t) : null;
            if (data is null) continue;
            var (start, end) = Graph.InitializerFields[i];
            graph.Raw(Bytes.AsSpan(copied, start - copied));
            graph.Message(GraphInitializer, OnnxModelBuilder.RawTensor(t.Name, t.DataType, t.Dims, data));
            copied = end;
        }
        graph.Raw(Bytes.AsSpan(copied, _graphField.End - copied));
        return new ProtoWriter()
            .Raw(Bytes.AsSpan(0, _graphField.Start))
            .Message(ModelGraph, graph)
            .Raw(Bytes.AsSpan(_graphField.End))
            .ToArray();
    }

    /// <summary>Reads an external-data initializer's bytes (onnx external_data: location relative to the model, offset, length).</summary>
    byte[] ReadExternalData(OnnxTensor t)
    {
        var entries = t.ExternalData;
        entries.TryGetValue("location", out var location);
        long offset = Number("offset", 0), length = Number("length", -1);
        var folder = Path is null ? null : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        var file = location is null || folder is null ? null : System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, location));
        if (file is null || !File.Exists(file))
            throw new OnnxFormatException($"initializer '{t.Name}' keeps its data in an external file that does not exist ('{location}').", Path);
        long expected = ByteLength(t);
        if (length >= 0 && length != expected)
            throw new OnnxFormatException($"initializer '{t.Name}' says its external data is {length} bytes, its dims {t.DimsText} need {expected}.", Path);
        try
        {
            using var fs = File.OpenRead(file);
            if (offset < 0 || offset > fs.Length - expected)
                throw new OnnxFormatException($"initializer '{t.Name}' points past the end of its external data file.", file);
            var data = new byte[expected];
            fs.Position = offset;
            fs.ReadExactly(data);
            return data;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxFormatException($"cannot read the external data of initializer '{t.Name}': {e.Message}", file);
        }

        long Number(string key, long fallback)
        {
            if (!entries.TryGetValue(key, out var text)) return fallback;
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v :
                throw new OnnxFormatException($"initializer '{t.Name}' has external data {key} '{text}', not a number.", Path);
        }
    }

    long ByteLength(OnnxTensor t)
    {
        int size = t.DataType.ElementSize();
        if (size == 0 || t.Dims.Any(d => d < 0))
            throw new OnnxFormatException($"initializer '{t.Name}' ({t.DataType} {t.DimsText}) has no fixed-size data.", Path);
        try { return checked(t.ElementCount * size); }
        catch (OverflowException) { throw new OnnxFormatException($"initializer '{t.Name}' has dims {t.DimsText} too large to hold.", Path); }
    }
}
