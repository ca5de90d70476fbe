using System.Text;

namespace ModelSoups.TorchSharp.Tests.Formats.Onnx;

/// <summary>Writes small ONNX models (protobuf wire format) for tests: a few nodes, float initializers, one input/output.</summary>
internal sealed class OnnxBuilder
{
    readonly List<byte[]> _nodes = [], _inits = [];
    public long Opset { get; init; } = 13;

    public static byte[] Varint(ulong v)
    {
        var b = new List<byte>();
        do { byte x = (byte)(v & 0x7f); v >>= 7; if (v != 0) x |= 0x80; b.Add(x); } while (v != 0);
        return b.ToArray();
    }

    static byte[] Tag(int field, int wire) => Varint((ulong)(field << 3 | wire));
    public static byte[] Len(int field, byte[] payload) => [.. Tag(field, 2), .. Varint((ulong)payload.Length), .. payload];
    public static byte[] Str(int field, string s) => Len(field, Encoding.UTF8.GetBytes(s));
    public static byte[] Int(int field, long v) => [.. Tag(field, 0), .. Varint((ulong)v)];
    static byte[] Packed(int field, IEnumerable<long> v) => Len(field, v.SelectMany(x => Varint((ulong)x)).ToArray());

    public static byte[] IntsAttr(string name, params long[] v) => [.. Str(1, name), .. Int(20, 7), .. Packed(8, v)];
    public static byte[] IntAttr(string name, long v) => [.. Str(1, name), .. Int(20, 2), .. Int(3, v)];

    public OnnxBuilder Node(string op, string[] inputs, string output, params byte[][] attributes)
    {
        var n = new List<byte>();
        foreach (var i in inputs) n.AddRange(Str(1, i));
        n.AddRange(Str(2, output));
        n.AddRange(Str(3, output + "_node"));
        n.AddRange(Str(4, op));
        foreach (var a in attributes) n.AddRange(Len(5, a));
        _nodes.Add(n.ToArray());
        return this;
    }

    public OnnxBuilder Init(string name, long[] dims, float[] values)
    {
        var t = new List<byte>();
        t.AddRange(Packed(1, dims));
        t.AddRange(Int(2, 1));
        t.AddRange(Str(8, name));
        t.AddRange(Len(9, values.SelectMany(BitConverter.GetBytes).ToArray()));
        _inits.Add(t.ToArray());
        return this;
    }

    static byte[] ValueInfo(string name, long[] shape)
    {
        var dims = shape.SelectMany(d => Len(1, Int(1, d))).ToArray();
        var tensorType = (byte[])[.. Int(1, 1), .. Len(2, dims)];
        return [.. Str(1, name), .. Len(2, Len(1, tensorType))];
    }

    public byte[] Build(string input, long[] inputShape, string output, long[] outputShape)
    {
        var g = new List<byte>();
        foreach (var n in _nodes) g.AddRange(Len(1, n));
        g.AddRange(Str(2, "test"));
        foreach (var i in _inits) g.AddRange(Len(5, i));
        g.AddRange(Len(11, ValueInfo(input, inputShape)));
        g.AddRange(Len(12, ValueInfo(output, outputShape)));
        return [.. Int(1, 7), .. Str(2, "tests"), .. Len(7, g.ToArray()), .. Len(8, [.. Str(1, ""), .. Int(2, Opset)])];
    }
}
