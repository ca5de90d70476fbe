using ModelSoups.Formats.Onnx;

namespace ModelSoups.TorchSharp.Tests.Formats.Onnx;

// Lives with the TorchSharp tests (where the writer is); the reader itself is in the core library.
public class OnnxModelTests
{
    static byte[] Small() => new OnnxBuilder()
        .Init("W", [2, 3], [1, 2, 3, 4, 5, 6])
        .Node("Gemm", ["X", "W"], "Y", OnnxBuilder.IntAttr("transB", 1))
        .Build("X", [1, 3], "Y", [1, 2]);

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
    public void Reads_the_packaged_resnet18()
    {
        var m = OnnxModel.Load(Models.OnnxResNetTests.ResNetPath);
        Assert.Equal(110, m.Graph.Initializers.Count);
        Assert.All(m.Graph.Initializers, t => Assert.StartsWith(t.Name.StartsWith("Param") ? "Parameter" : "Constant", t.Name));
        Assert.Equal("Input247", Assert.Single(m.Graph.DataInputs).Name);
        Assert.Equal([1L, 3, 224, 224], m.Graph.Inputs[0].Shape.Select(d => d!.Value));
        Assert.Equal(22, m.Graph.Nodes.Count(n => n.OpType == "Conv"));
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
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(OnnxBuilder.Int(1, 7), "m.onnx"));
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
        byte[] bytes = [.. OnnxBuilder.Int(1, 7), 0x3a, 0x7f, 1, 2]; // field 7 says 127 bytes, 2 follow
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
        var bytes = new OnnxBuilder().Init("W", [2, 2], [1, 2, 3]).Node("Relu", ["X"], "Y").Build("X", [1], "Y", [1]);
        var t = OnnxModel.Parse(bytes).Graph.Initializers[0];
        Assert.Contains("3 values", Assert.Throws<OnnxFormatException>(() => t.ToFloatArray()).Message);
    }

    [Fact]
    public void Missing_file_is_a_user_error()
    {
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".onnx")));
    }
}
