namespace ModelSoups.Onnx.Format;

/// <summary>One node attribute (<c>AttributeProto</c>): the scalar, list or tensor forms the toolkit uses.</summary>
public sealed class OnnxAttribute
{
    internal OnnxAttribute(string name, OnnxAttributeType type, float f, long i, string s,
        IReadOnlyList<float> floats, IReadOnlyList<long> ints, OnnxTensor? tensor)
    {
        Name = name; Type = type; Float = f; Int = i; String = s; Floats = floats; Ints = ints; Tensor = tensor;
    }

    public string Name { get; }
    public OnnxAttributeType Type { get; }
    public float Float { get; }
    public long Int { get; }
    public string String { get; }
    public IReadOnlyList<float> Floats { get; }
    public IReadOnlyList<long> Ints { get; }
    public OnnxTensor? Tensor { get; }

    /// <summary>An int attribute, for <see cref="OnnxModelBuilder.Node"/>.</summary>
    public static OnnxAttribute FromInt(string name, long value) =>
        new(name, OnnxAttributeType.Int, 0, value, "", [], [], null);

    /// <summary>An ints attribute, for <see cref="OnnxModelBuilder.Node"/>.</summary>
    public static OnnxAttribute FromInts(string name, params long[] values) =>
        new(name, OnnxAttributeType.Ints, 0, 0, "", [], values, null);

    /// <summary>A float attribute, for <see cref="OnnxModelBuilder.Node"/>.</summary>
    public static OnnxAttribute FromFloat(string name, float value) =>
        new(name, OnnxAttributeType.Float, value, 0, "", [], [], null);

    /// <summary>A floats attribute, for <see cref="OnnxModelBuilder.Node"/>.</summary>
    public static OnnxAttribute FromFloats(string name, params float[] values) =>
        new(name, OnnxAttributeType.Floats, 0, 0, "", values, [], null);

    /// <summary>A string attribute, for <see cref="OnnxModelBuilder.Node"/>.</summary>
    public static OnnxAttribute FromString(string name, string value) =>
        new(name, OnnxAttributeType.String, 0, 0, value, [], [], null);

    internal static OnnxAttribute Parse(ProtoReader r, byte[] file)
    {
        string name = "", s = "";
        var type = OnnxAttributeType.Undefined;
        float f = 0; long i = 0;
        var floats = new List<float>(); var ints = new List<long>();
        OnnxTensor? tensor = null;
        while (!r.AtEnd)
        {
            int field = r.ReadTag(out int wire);
            switch (field)
            {
                case 1: r.Expect(wire, ProtoReader.WireLengthDelimited); name = r.ReadString(); break;
                case 20: r.Expect(wire, ProtoReader.WireVarint); type = (OnnxAttributeType)r.ReadInt32(); break;
                case 2: r.Expect(wire, ProtoReader.WireFixed32); f = r.ReadFloat(); break;
                case 3: r.Expect(wire, ProtoReader.WireVarint); i = r.ReadInt64(); break;
                case 4: r.Expect(wire, ProtoReader.WireLengthDelimited); s = r.ReadString(); break;
                case 5: r.Expect(wire, ProtoReader.WireLengthDelimited); tensor = OnnxTensor.Parse(r.ReadMessage(), file); break;
                case 7: r.ReadFloats(wire, floats); break;
                case 8: r.ReadInt64s(wire, ints); break;
                default: r.Skip(wire); break;  // subgraphs, strings lists, sparse tensors: not used by the toolkit
            }
        }
        return new OnnxAttribute(name, type, f, i, s, floats, ints, tensor);
    }
}
