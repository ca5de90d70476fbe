using System.Runtime.InteropServices;
using ModelSoups.Onnx.Format;

namespace ModelSoups.Tests.Formats.Onnx;

public class OnnxModelTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static OnnxModelBuilder Builder() => new() { IrVersion = 7, ProducerName = "tests", GraphName = "test" };

    static byte[] Small() => Builder()
        .Initializer("W", [2, 3], [1f, 2, 3, 4, 5, 6])
        .Node("Gemm", ["X", "W"], ["Y"], OnnxAttribute.FromInt("transB", 1))
        .Input("X", OnnxDataType.Float, 1, 3)
        .Output("Y", OnnxDataType.Float, 1, 2)
        .ToBytes();

    static byte[] F32(params float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    [Fact]
    public void Reads_nodes_attributes_initializers_and_io()
    {
        var bytes = Small();
        var m = OnnxModel.Parse(bytes);
        Assert.Equal(7, m.IrVersion);
        Assert.Equal(13, m.Opsets[""]);
        var node = Assert.Single(m.Graph.Nodes);
        Assert.Equal("Gemm", node.OpType);
        Assert.Equal(["X", "W"], node.Inputs);
        Assert.Equal(1, node.GetInt("transB", 0));
        var w = Assert.Single(m.Graph.Initializers);
        Assert.Equal([2L, 3L], w.Dims);
        Assert.Equal(OnnxDataType.Float, w.DataType);
        Assert.Equal([1f, 2, 3, 4, 5, 6], w.ToFloatArray());
        Assert.True(w.IsRewritableInPlace);
        Assert.Equal(BitConverter.GetBytes(1f), bytes.AsSpan(w.DataOffset, 4).ToArray()); // offset points at the data
        Assert.Equal(24, w.DataLength);
        Assert.Equal("X", Assert.Single(m.Graph.DataInputs).Name);
        Assert.Equal([1L, 2L], m.Graph.Outputs[0].Shape.Select(d => d!.Value));
    }

    [Fact]
    public void Builder_round_trips_every_attribute_kind_encodings_and_symbolic_dims()
    {
        var bytes = new OnnxModelBuilder { ProducerName = "p", GraphName = "g", Opset = 17 }
            .Initializer("a", [2], [1.5f, -2f], OnnxTensorEncoding.FloatData)
            .Initializer("b", OnnxDataType.Int64, [1], BitConverter.GetBytes(-7L))
            .Node("Op", ["x", "a"], ["y", "z"],
                OnnxAttribute.FromInt("i", -3), OnnxAttribute.FromInts("is", 1, -2, 3), OnnxAttribute.FromFloat("f", 0.25f),
                OnnxAttribute.FromFloats("fs", 1f, -0.5f), OnnxAttribute.FromString("s", "same_upper"))
            .Input("x", OnnxDataType.Float, null, 3)
            .Output("y", OnnxDataType.Float)
            .ToBytes();
        var m = OnnxModel.Parse(bytes);
        Assert.Equal(8, m.IrVersion);
        Assert.Equal("p", m.ProducerName);
        Assert.Equal(17, m.Opsets[""]);
        Assert.Equal("g", m.Graph.Name);
        var a = m.Graph.InitializersByName["a"];
        Assert.Equal(OnnxTensorEncoding.FloatData, a.Encoding);
        Assert.Equal([1.5f, -2f], a.ToFloatArray());
        Assert.Equal([-7L], m.Graph.InitializersByName["b"].ToInt64Array());
        var n = Assert.Single(m.Graph.Nodes);
        Assert.Equal(["y", "z"], n.Outputs);
        Assert.Equal(-3, n.GetInt("i", 0));
        Assert.Equal([1L, -2, 3], n.GetInts("is", []));
        Assert.Equal(0.25f, n.GetFloat("f", 0));
        Assert.Equal([1f, -0.5f], n.Attributes["fs"].Floats);
        Assert.Equal("same_upper", n.GetString("s", ""));
        Assert.Equal(OnnxAttributeType.Ints, n.Attributes["is"].Type);
        var x = m.Graph.Inputs[0];
        Assert.True(x.HasShape);
        Assert.Equal([null, 3L], x.Shape);
        Assert.True(m.Graph.Outputs[0].HasShape);
        Assert.Empty(m.Graph.Outputs[0].Shape);   // declared rank 0
    }

    [Fact]
    public void A_value_without_a_shape_has_no_rank()
    {
        // ValueInfoProto { name = "x", type { tensor_type { elem_type = FLOAT } } } with no shape field.
        var info = new ProtoWriter().String(1, "x").Message(2, new ProtoWriter().Message(1, new ProtoWriter().Int(1, 1)));
        var graph = new ProtoWriter().String(2, "g").Message(11, info);
        var m = OnnxModel.Parse(new ProtoWriter().Int(1, 8).Message(7, graph).ToArray());
        Assert.False(m.Graph.Inputs[0].HasShape);
        Assert.Empty(m.Graph.Inputs[0].Shape);
        Assert.Equal(OnnxDataType.Float, m.Graph.Inputs[0].ElementType);
    }

    [Fact]
    public void WithInitializers_replaces_the_named_values_and_copies_everything_else()
    {
        var original = Builder()
            .Initializer("A", [2], [1f, 2f], OnnxTensorEncoding.FloatData)
            .Initializer("B", [3], [3f, 4f, 5f])
            .Initializer("C", [1], [6f])
            .Node("Add", ["X", "A"], ["Y"])
            .Input("X", OnnxDataType.Float, 2)
            .Output("Y", OnnxDataType.Float, 2)
            .ToBytes();
        var m = OnnxModel.Parse(original);
        Assert.Equal(original, m.WithInitializers(new Dictionary<string, byte[]>()));   // nothing to change: the same bytes

        var rewritten = OnnxModel.Parse(m.WithInitializers(new Dictionary<string, byte[]> { ["A"] = F32(-1f, 0.5f), ["C"] = F32(9f) }));
        Assert.Equal([-1f, 0.5f], rewritten.Graph.InitializersByName["A"].ToFloatArray());
        Assert.Equal(OnnxTensorEncoding.Raw, rewritten.Graph.InitializersByName["A"].Encoding);   // re-encoded as raw_data
        Assert.Equal([3f, 4f, 5f], rewritten.Graph.InitializersByName["B"].ToFloatArray());
        Assert.Equal([9f], rewritten.Graph.InitializersByName["C"].ToFloatArray());
        Assert.Equal(["A", "B", "C"], rewritten.Graph.Initializers.Select(t => t.Name));        // order kept
        Assert.Equal(m.Graph.Nodes.Select(n => n.OpType), rewritten.Graph.Nodes.Select(n => n.OpType));
        Assert.Equal(7, rewritten.IrVersion);
        Assert.Equal(13, rewritten.Opsets[""]);
        Assert.Equal("X", Assert.Single(rewritten.Graph.DataInputs).Name);
    }

    [Fact]
    public void WithInitializers_refuses_unknown_names_and_wrong_lengths()
    {
        var m = OnnxModel.Parse(Small());
        Assert.Throws<ArgumentException>(() => m.WithInitializers(new Dictionary<string, byte[]> { ["V"] = F32(1) }));
        Assert.Throws<ArgumentException>(() => m.WithInitializers(new Dictionary<string, byte[]> { ["W"] = F32(1, 2, 3) }));
    }

    byte[] ExternalModel(string location, long offset, long? length = null) => Builder()
        .ExternalInitializer("E", OnnxDataType.Float, [2], location, offset, length)
        .Node("Relu", ["E"], ["Y"])
        .Output("Y", OnnxDataType.Float, 2)
        .ToBytes();

    [Fact]
    public void WithInitializers_inlines_external_data_relative_to_the_model()
    {
        File.WriteAllBytes(_dir.File("w.bin"), [9, 9, 9, .. F32(7f, -8f)]);
        File.WriteAllBytes(_dir.File("m.onnx"), ExternalModel("w.bin", 3, 8));
        var m = OnnxModel.Load(_dir.File("m.onnx"));
        var e = m.Graph.InitializersByName["E"];
        Assert.Equal(OnnxTensorEncoding.External, e.Encoding);
        Assert.Equal("w.bin", e.ExternalData["location"]);
        Assert.Equal("3", e.ExternalData["offset"]);
        var inlined = OnnxModel.Parse(m.WithInitializers(new Dictionary<string, byte[]>())).Graph.InitializersByName["E"];
        Assert.Equal(OnnxTensorEncoding.Raw, inlined.Encoding);
        Assert.Equal([7f, -8f], inlined.ToFloatArray());
    }

    [Theory]
    [InlineData("missing.bin", 0, null, "does not exist")]
    [InlineData("w.bin", 0, 4L, "need 8")]
    [InlineData("w.bin", 4, null, "past the end")]
    public void Bad_external_data_is_an_onnx_format_error(string location, long offset, long? length, string message)
    {
        File.WriteAllBytes(_dir.File("w.bin"), F32(1f, 2f));
        File.WriteAllBytes(_dir.File("m.onnx"), ExternalModel(location, offset, length));
        var m = OnnxModel.Load(_dir.File("m.onnx"));
        Assert.Contains(message, Assert.Throws<OnnxFormatException>(() => m.WithInitializers(new Dictionary<string, byte[]>())).Message);
    }

    [Fact]
    public void Truncated_file_is_an_onnx_format_error()
    {
        var bytes = Small();
        for (int cut = 1; cut < bytes.Length; cut += 7)
            Assert.ThrowsAny<ModelSoupsException>(() => OnnxModel.Parse(bytes[..cut], "m.onnx"));
    }

    [Fact]
    public void Model_without_graph_is_rejected()
    {
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(new ProtoWriter().Int(1, 7).ToArray(), "m.onnx"));
        Assert.Contains("no graph", e.Message);
        Assert.Equal("m.onnx", e.Path);
    }

    [Fact]
    public void Overlong_varint_is_rejected()
    {
        var bytes = Enumerable.Repeat((byte)0xff, 11).ToArray();
        Assert.Contains("varint", Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(bytes)).Message);
    }

    [Fact]
    public void Length_past_the_end_is_rejected()
    {
        byte[] bytes = [.. new ProtoWriter().Int(1, 7).ToArray(), 0x3a, 0x7f, 1, 2]; // field 7 says 127 bytes, 2 follow
        Assert.Contains("past the end", Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(bytes)).Message);
    }

    [Fact]
    public void Reserved_wire_type_is_rejected()
    {
        byte[] bytes = [(1 << 3) | 3, 0]; // wire type 3 (start group) is not used by ONNX
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(bytes));
    }

    [Fact]
    public void Initializer_whose_data_does_not_match_dims_is_rejected_when_read()
    {
        var bytes = Builder().Initializer("W", [2, 2], [1f, 2, 3]).Node("Relu", ["X"], ["Y"])
            .Input("X", OnnxDataType.Float, 1).Output("Y", OnnxDataType.Float, 1).ToBytes();
        var t = OnnxModel.Parse(bytes).Graph.Initializers[0];
        Assert.Contains("3 values", Assert.Throws<OnnxFormatException>(() => t.ToFloatArray()).Message);
    }

    [Fact]
    public void Missing_file_is_a_user_error()
    {
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".onnx")));
    }
}
