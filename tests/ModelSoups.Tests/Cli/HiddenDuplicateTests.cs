using ModelSoups.Cli;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Cli;

public sealed class HiddenDuplicateTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_tensor_stored_in_two_shards_is_reported_by_inspect_and_refused_by_merge()
    {
        // The index maps "w" to shard 1, but shard 2 holds a second copy: which one a reader sees depends on it.
        var folder = _dir.File("dup");
        Directory.CreateDirectory(folder);
        SafetensorsFile.Write(Path.Combine(folder, "model-00001-of-00002.safetensors"), [(new TensorInfo("w", DType.F32, [1]), ModelFolders.Bytes(DType.F32, 1f))]);
        SafetensorsFile.Write(Path.Combine(folder, "model-00002-of-00002.safetensors"),
            [(new TensorInfo("w", DType.F32, [1]), ModelFolders.Bytes(DType.F32, 2f)), (new TensorInfo("b", DType.F32, [1]), ModelFolders.Bytes(DType.F32, 3f))]);
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
            """{"metadata": {"total_size": 12}, "weight_map": {"w": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}""");
        var e = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["inspect", folder], new StringWriter(), e));
        Assert.Contains("tensor 'w' is in shard model-00002-of-00002.safetensors but the index places it in model-00001-of-00002.safetensors", e.ToString());
        var m = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["merge", "--method", "linear", "--models", folder, "--out", _dir.File("out")], new StringWriter(), m));
        Assert.Contains("tensor 'w' is in shard", m.ToString());
    }

    [Fact]
    public void A_byte_identical_hidden_duplicate_is_reported_with_a_note_and_merges()
    {
        // The same "w" (2.5) in both shards, the index naming shard 1: harmless, so inspect and merge go on and say so.
        var folder = _dir.File("dup");
        Directory.CreateDirectory(folder);
        SafetensorsFile.Write(Path.Combine(folder, "model-00001-of-00002.safetensors"), [(new TensorInfo("w", DType.F32, [1]), ModelFolders.Bytes(DType.F32, 2.5f))]);
        SafetensorsFile.Write(Path.Combine(folder, "model-00002-of-00002.safetensors"),
            [(new TensorInfo("w", DType.F32, [1]), ModelFolders.Bytes(DType.F32, 2.5f)), (new TensorInfo("b", DType.F32, [1]), ModelFolders.Bytes(DType.F32, 3f))]);
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
            """{"metadata": {"total_size": 8}, "weight_map": {"w": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}""");
        const string note = "tensor 'w' is also stored in shard model-00002-of-00002.safetensors; that copy is byte-identical to the one the index names in model-00001-of-00002.safetensors, which is read.";
        var o = new StringWriter();
        Assert.Equal(0, SoupApp.Run(["inspect", folder], o, new StringWriter()));
        Assert.Contains("note: " + note, o.ToString());
        var m = new StringWriter();
        var err = new StringWriter();
        Assert.Equal(0, SoupApp.Run(["merge", "--method", "linear", "--models", folder, folder, "--out", _dir.File("out")], m, err));
        Assert.Contains(note, m.ToString() + err.ToString());
        using var merged = ModelSoups.Checkpoints.Checkpoint.Open(_dir.File("out"));
        Assert.Equal(["b", "w"], merged.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(ModelFolders.Bytes(DType.F32, 2.5f), merged.Tensors["w"].GetBytes().ToArray());
    }

    [Theory]
    [InlineData(2.5f, true)]
    [InlineData(4f, false)]
    public void A_hidden_duplicate_in_a_sharded_pytorch_checkpoint_is_a_note_when_identical_and_refused_otherwise(float hidden, bool accepted)
    {
        // pytorch_model.bin shards: "w" = 2.5 in shard 1 (where the index puts it), and a second "w" in shard 2.
        var folder = _dir.File("pt");
        Directory.CreateDirectory(folder);
        static byte[] F32(params float[] v) => ModelFolders.Bytes(DType.F32, v);
        ModelSoups.Tests.Formats.PyTorch.TorchZip.Write(Path.Combine(folder, "pytorch_model-00001-of-00002.bin"),
            ModelSoups.Tests.Formats.PyTorch.PickleWriter.StateDict(("w", "FloatStorage", 1, 0, [1], [1])), new Dictionary<string, byte[]> { ["0"] = F32(2.5f) });
        ModelSoups.Tests.Formats.PyTorch.TorchZip.Write(Path.Combine(folder, "pytorch_model-00002-of-00002.bin"),
            ModelSoups.Tests.Formats.PyTorch.PickleWriter.StateDict(("w", "FloatStorage", 1, 0, [1], [1]), ("b", "FloatStorage", 1, 0, [1], [1])),
            new Dictionary<string, byte[]> { ["0"] = F32(hidden), ["1"] = F32(3f) });
        File.WriteAllText(Path.Combine(folder, "pytorch_model.bin.index.json"),
            """{"metadata": {"total_size": 8}, "weight_map": {"w": "pytorch_model-00001-of-00002.bin", "b": "pytorch_model-00002-of-00002.bin"}}""");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = SoupApp.Run(["inspect", folder], o, e);
        if (accepted)
        {
            Assert.Equal(0, code);
            Assert.Contains("tensor 'w' is also stored in shard pytorch_model-00002-of-00002.bin; that copy is byte-identical to the one the index names in pytorch_model-00001-of-00002.bin, which is read.", o.ToString());
        }
        else
        {
            Assert.Equal(2, code);
            Assert.Contains("tensor 'w' is in shard pytorch_model-00002-of-00002.bin but the index places it in pytorch_model-00001-of-00002.bin, and the two copies differ", e.ToString());
        }
    }
}
