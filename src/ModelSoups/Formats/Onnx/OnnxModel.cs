namespace ModelSoups.Formats.Onnx;

/// <summary>
/// An ONNX model (<c>ModelProto</c>, onnx/onnx.proto) read from its protobuf bytes by a small,
/// dependency-free reader: metadata, opsets and the main graph. Tensor payloads are not copied;
/// they are views into <see cref="Bytes"/> with their offsets, so weights can be rewritten in place.
/// Sub-graphs (If/Loop bodies), sparse initializers and training info are skipped.
/// </summary>
public sealed class OnnxModel
{
    OnnxModel(byte[] bytes, long irVersion, string producer, IReadOnlyDictionary<string, long> opsets, OnnxGraph graph)
    {
        Bytes = bytes; IrVersion = irVersion; ProducerName = producer; Opsets = opsets; Graph = graph;
    }

    /// <summary>The file's bytes (tensor offsets index into these).</summary>
    public byte[] Bytes { get; }
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

    /// <summary>Parses protobuf bytes; <paramref name="path"/> is only used in error messages.</summary>
    public static OnnxModel Parse(byte[] bytes, string? path = null)
    {
        var r = new ProtoReader(bytes, 0, bytes.Length, path);
        long ir = 0; string producer = "";
        var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
        OnnxGraph? graph = null;
        while (!r.AtEnd)
        {
            int field = r.ReadTag(out int wire);
            switch (field)
            {
                case 1: r.Expect(wire, ProtoReader.WireVarint); ir = r.ReadInt64(); break;
                case 2: r.Expect(wire, ProtoReader.WireLengthDelimited); producer = r.ReadString(); break;
                case 7:
                    r.Expect(wire, ProtoReader.WireLengthDelimited);
                    if (graph is not null) throw r.Error("the model has two graphs");
                    graph = OnnxGraph.Parse(r.ReadMessage(), bytes);
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
        return new OnnxModel(bytes, ir, producer, opsets, graph);
    }
}
