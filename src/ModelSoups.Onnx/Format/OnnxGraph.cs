namespace ModelSoups.Onnx.Format;

/// <summary>The computation graph (<c>GraphProto</c>): nodes in topological order, weights, inputs, outputs.</summary>
public sealed class OnnxGraph
{
    internal OnnxGraph(string name, IReadOnlyList<OnnxNode> nodes, IReadOnlyList<OnnxTensor> initializers,
        IReadOnlyList<(int Start, int End)> initializerFields, IReadOnlyList<OnnxValueInfo> inputs, IReadOnlyList<OnnxValueInfo> outputs)
    {
        Name = name; Nodes = nodes; Initializers = initializers; InitializerFields = initializerFields; Inputs = inputs; Outputs = outputs;
        InitializersByName = initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Name { get; }
    public IReadOnlyList<OnnxNode> Nodes { get; }
    /// <summary>Weights, in file order.</summary>
    public IReadOnlyList<OnnxTensor> Initializers { get; }
    public IReadOnlyDictionary<string, OnnxTensor> InitializersByName { get; }
    /// <summary>Declared inputs; since IR version 4 this may include initializers too.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Where each initializer's whole field (tag, length and TensorProto) lies in the file, parallel to <see cref="Initializers"/>.</summary>
    internal IReadOnlyList<(int Start, int End)> InitializerFields { get; }

    /// <summary>Inputs that are not initializers: what a caller feeds.</summary>
    public IEnumerable<OnnxValueInfo> DataInputs => Inputs.Where(i => !InitializersByName.ContainsKey(i.Name));

    internal static OnnxGraph Parse(ProtoReader r, byte[] file)
    {
        string name = "";
        var nodes = new List<OnnxNode>(); var inits = new List<OnnxTensor>(); var fields = new List<(int, int)>();
        var inputs = new List<OnnxValueInfo>(); var outputs = new List<OnnxValueInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (!r.AtEnd)
        {
            int start = r.Position;
            int field = r.ReadTag(out int wire);
            switch (field)
            {
                case 1: r.Expect(wire, ProtoReader.WireLengthDelimited); nodes.Add(OnnxNode.Parse(r.ReadMessage(), file)); break;
                case 2: r.Expect(wire, ProtoReader.WireLengthDelimited); name = r.ReadString(); break;
                case 5:
                    r.Expect(wire, ProtoReader.WireLengthDelimited);
                    var t = OnnxTensor.Parse(r.ReadMessage(), file);
                    if (!seen.Add(t.Name)) throw r.Error($"initializer '{t.Name}' appears twice");
                    inits.Add(t);
                    fields.Add((start, r.Position));
                    break;
                case 11: r.Expect(wire, ProtoReader.WireLengthDelimited); inputs.Add(OnnxValueInfo.Parse(r.ReadMessage())); break;
                case 12: r.Expect(wire, ProtoReader.WireLengthDelimited); outputs.Add(OnnxValueInfo.Parse(r.ReadMessage())); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxGraph(name, nodes, inits, fields, inputs, outputs);
    }
}
