using System.Runtime.InteropServices;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;
using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

public class SafetensorsDatasetTests
{
    static byte[] Longs(params long[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
    static byte[] Ints(params int[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
    static byte[] Floats(params float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    static string Write(TempFolder t, IEnumerable<(TensorInfo, byte[])> tensors, Dictionary<string, string>? metadata = null)
    {
        var path = t["d.safetensors"];
        SafetensorsFile.Write(path, tensors, metadata);
        return path;
    }

    static void Rejects(string path, string fragment)
    {
        var e = Assert.Throws<ModelSoupsException>(() => SafetensorsDataset.Read(path));
        Assert.Contains(fragment, e.Message);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void Byte_dataset_round_trips_exactly()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.Create(20, 3);
        var path = t["x.safetensors"];
        SafetensorsDataset.Write(path, data);
        var back = SafetensorsDataset.Read(path);
        Assert.False(back.IsFloat);
        Assert.Equal(data.Pixels, back.Pixels);
        Assert.Equal(data.Labels, back.Labels);
        Assert.Equal((1, 8, 8, 4), (back.Channels, back.Height, back.Width, back.Classes));
    }

    [Fact]
    public void Float_nhw_dataset_with_int32_labels_reads_as_one_channel()
    {
        using var t = new TempFolder();
        var path = Write(t, [
            (new TensorInfo("inputs", DType.F32, [2, 1, 2]), Floats(0.5f, -1f, 2f, 3f)),
            (new TensorInfo("labels", DType.I32, [2]), Ints(1, 0)),
        ]);
        var d = SafetensorsDataset.Read(path);
        Assert.True(d.IsFloat);
        Assert.Equal((1, 1, 2, 2), (d.Channels, d.Height, d.Width, d.Classes));
        var (x, y) = d.Batch([1, 0]);
        Assert.Equal(new[] { 2f, 3f, 0.5f, -1f }, x.data<float>().ToArray());
        Assert.Equal(new[] { 0L, 1L }, y.data<long>().ToArray());
        // And back: floats are written as float32 [N,C,H,W].
        var again = t["again.safetensors"];
        SafetensorsDataset.Write(again, d);
        Assert.Equal(d.Values, SafetensorsDataset.Read(again).Values);
    }

    [Fact]
    public void Metadata_class_count_wins_over_the_largest_label()
    {
        using var t = new TempFolder();
        var path = Write(t, [
            (new TensorInfo("inputs", DType.U8, [1, 1, 1, 1]), [7]),
            (new TensorInfo("labels", DType.I64, [1]), Longs(2)),
        ], new() { ["classes"] = "10" });
        Assert.Equal(10, SafetensorsDataset.Read(path).Classes);
    }

    [Fact] public void Missing_labels() { using var t = new TempFolder(); Rejects(Write(t, [(new TensorInfo("inputs", DType.U8, [1, 1, 1]), [0])]), "'labels'"); }
    [Fact] public void Missing_inputs() { using var t = new TempFolder(); Rejects(Write(t, [(new TensorInfo("labels", DType.I64, [1]), Longs(0))]), "'inputs'"); }

    [Fact]
    public void Extra_tensor()
    {
        using var t = new TempFolder();
        Rejects(Write(t, [(new TensorInfo("inputs", DType.U8, [1, 1, 1]), [0]), (new TensorInfo("labels", DType.I64, [1]), Longs(0)),
            (new TensorInfo("extra", DType.U8, [1]), [0])]), "'extra'");
    }

    [Fact]
    public void Inputs_of_wrong_rank()
    {
        using var t = new TempFolder();
        Rejects(Write(t, [(new TensorInfo("inputs", DType.U8, [2, 2]), [0, 0, 0, 0]), (new TensorInfo("labels", DType.I64, [2]), Longs(0, 0))]), "[N,C,H,W]");
    }

    [Fact]
    public void Item_counts_disagree()
    {
        using var t = new TempFolder();
        Rejects(Write(t, [(new TensorInfo("inputs", DType.U8, [2, 1, 1]), [0, 0]), (new TensorInfo("labels", DType.I64, [3]), Longs(0, 0, 0))]), "2 items");
    }

    [Fact]
    public void Negative_label()
    {
        using var t = new TempFolder();
        Rejects(Write(t, [(new TensorInfo("inputs", DType.U8, [1, 1, 1]), [0]), (new TensorInfo("labels", DType.I64, [1]), Longs(-1))]), "label -1");
    }

    [Fact]
    public void Label_beyond_declared_classes()
    {
        using var t = new TempFolder();
        Rejects(Write(t, [(new TensorInfo("inputs", DType.U8, [1, 1, 1]), [0]), (new TensorInfo("labels", DType.I64, [1]), Longs(5))],
            new() { ["classes"] = "3" }), "not below the 3 classes");
    }

    [Fact]
    public void Unsupported_dtypes()
    {
        using var t = new TempFolder();
        Rejects(Write(t, [(new TensorInfo("inputs", DType.I32, [1, 1, 1]), Ints(0)), (new TensorInfo("labels", DType.I64, [1]), Longs(0))]), "uint8, float32");
        using var u = new TempFolder();
        Rejects(Write(u, [(new TensorInfo("inputs", DType.U8, [1, 1, 1]), [0]), (new TensorInfo("labels", DType.F32, [1]), Floats(0))]), "int64 or int32");
    }

    [Fact]
    public void Non_finite_input()
    {
        using var t = new TempFolder();
        Rejects(Write(t, [(new TensorInfo("inputs", DType.F32, [1, 1, 1]), Floats(float.NaN)), (new TensorInfo("labels", DType.I64, [1]), Longs(0))]), "non-finite");
    }
}
