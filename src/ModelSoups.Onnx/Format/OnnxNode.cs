namespace ModelSoups.Onnx.Format;

/// <summary>One operator of the graph (<c>NodeProto</c>).</summary>
public sealed class OnnxNode
{
    internal OnnxNode(string name, string opType, string domain, IReadOnlyList<string> inputs,
        IReadOnlyList<string> outputs, IReadOnlyDictionary<string, OnnxAttribute> attributes)
    {
        Name = name; OpType = opType; Domain = domain; Inputs = inputs; Outputs = outputs; Attributes = attributes;
    }

    public string Name { get; }
    public string OpType { get; }
    /// <summary>Operator set domain; "" is the default ONNX domain.</summary>
    public string Domain { get; }
    /// <summary>Input value names; "" marks an omitted optional input.</summary>
    public IReadOnlyList<string> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }
    public IReadOnlyDictionary<string, OnnxAttribute> Attributes { get; }

    /// <summary>An int attribute, or <paramref name="fallback"/> when absent.</summary>
    public long GetInt(string name, long fallback) => Attributes.TryGetValue(name, out var a) ? a.Int : fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/> when absent.</summary>
    public float GetFloat(string name, float fallback) => Attributes.TryGetValue(name, out var a) ? a.Float : fallback;

    /// <summary>A string attribute, or <paramref name="fallback"/> when absent.</summary>
    public string GetString(string name, string fallback) => Attributes.TryGetValue(name, out var a) ? a.String : fallback;

    /// <summary>An ints attribute, or <paramref name="fallback"/> when absent.</summary>
    public IReadOnlyList<long> GetInts(string name, IReadOnlyList<long> fallback) =>
        Attributes.TryGetValue(name, out var a) ? a.Ints : fallback;

    internal static OnnxNode Parse(ProtoReader r, byte[] file)
    {
        string name = "", op = "", domain = "";
        var inputs = new List<string>(); var outputs = new List<string>();
        var attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        while (!r.AtEnd)
        {
            int field = r.ReadTag(out int wire);
            switch (field)
            {
                case 1: r.Expect(wire, ProtoReader.WireLengthDelimited); inputs.Add(r.ReadString()); break;
                case 2: r.Expect(wire, ProtoReader.WireLengthDelimited); outputs.Add(r.ReadString()); break;
                case 3: r.Expect(wire, ProtoReader.WireLengthDelimited); name = r.ReadString(); break;
                case 4: r.Expect(wire, ProtoReader.WireLengthDelimited); op = r.ReadString(); break;
                case 7: r.Expect(wire, ProtoReader.WireLengthDelimited); domain = r.ReadString(); break;
                case 5:
                    r.Expect(wire, ProtoReader.WireLengthDelimited);
                    var a = OnnxAttribute.Parse(r.ReadMessage(), file);
                    if (!attributes.TryAdd(a.Name, a)) throw r.Error($"node '{name}' has attribute '{a.Name}' twice");
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (op.Length == 0) throw r.Error($"node '{name}' has no op_type");
        return new OnnxNode(name, op, domain, inputs, outputs, attributes);
    }
}
