using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.TestSupport;

/// <summary>Writes small Hugging Face model folders for engine and CLI tests.</summary>
public static class ModelFolders
{
    /// <summary>Float tensor bytes in <paramref name="type"/> from f32 values (rounded to nearest even).</summary>
    public static byte[] Bytes(DType type, params float[] values)
    {
        var bytes = new byte[values.Length * type.Size()];
        DTypeConversion.FromSingle(values, type, bytes);
        return bytes;
    }

    public static byte[] Int64Bytes(params long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }

    /// <summary>A tiny two-layer model: float weights from <paramref name="seed"/> plus an int64 buffer.</summary>
    public static List<(TensorInfo, byte[])> Tiny(DType type, int seed, long counter = 7, int rows = 4, int cols = 6)
    {
        var rng = new Random(seed);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble() * 4 - 2, 3)).ToArray();
        return
        [
            (new TensorInfo("model.embed_tokens.weight", type, [rows, cols]), Bytes(type, Values(rows * cols))),
            (new TensorInfo("model.layers.0.mlp.weight", type, [cols, rows]), Bytes(type, Values(rows * cols))),
            (new TensorInfo("model.layers.1.mlp.weight", type, [cols, rows]), Bytes(type, Values(rows * cols))),
            (new TensorInfo("model.layers.1.mlp.bias", type, [rows]), Bytes(type, Values(rows))),
            (new TensorInfo("model.norm.weight", type, []), Bytes(type, Values(1))),
            (new TensorInfo("bn.num_batches_tracked", DType.I64, []), Int64Bytes(counter)),
        ];
    }

    /// <summary>Writes <paramref name="tensors"/> as an HF folder (sharded when <paramref name="maxShardBytes"/> is small) with a config.json.</summary>
    public static string Write(string folder, IEnumerable<(TensorInfo, byte[])> tensors, long maxShardBytes = 5_000_000_000, string? config = "{\"model_type\": \"tiny\"}")
    {
        using var ck = new InMemoryCheckpoint(tensors);
        Checkpoint.Save(ck, folder, new CheckpointWriterOptions(maxShardBytes));
        if (config is not null) File.WriteAllText(Path.Combine(folder, "config.json"), config);
        return folder;
    }

    /// <summary>All tensors of a checkpoint folder as f32 arrays (float tensors only).</summary>
    public static Dictionary<string, float[]> ReadFloats(string folder)
    {
        using var ck = Checkpoint.Open(folder);
        var result = new Dictionary<string, float[]>();
        foreach (var (name, t) in ck.Tensors)
        {
            if (!t.DType.IsFloat()) continue;
            var f = new float[t.ElementCount];
            DTypeConversion.ToSingle(t.DType, t.GetBytes(), f);
            result[name] = f;
        }
        return result;
    }

    /// <summary>Raw bytes of every tensor, for bit-identity checks.</summary>
    public static Dictionary<string, byte[]> ReadBytes(string folder)
    {
        using var ck = Checkpoint.Open(folder);
        return ck.Tensors.ToDictionary(p => p.Key, p => p.Value.GetBytes().ToArray());
    }
}
