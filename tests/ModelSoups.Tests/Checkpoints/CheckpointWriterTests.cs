using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Formats.HuggingFace;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Checkpoints;

public class CheckpointWriterTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static TensorInfo U8(string name, long n) => new(name, DType.U8, [n]);

    [Fact]
    public void Shard_plan_follows_huggingface_hub_greedy_rule()
    {
        // sizes 3,3,10,3 with max 5: [a] closes when b tips over; c (too big) gets its own shard at once; then [b], [d].
        var plan = ShardPlan.Plan([U8("a", 3), U8("b", 3), U8("c", 10), U8("d", 3)], 5);
        Assert.Equal(["a|", "c|", "b|", "d|"], plan.Select(p => string.Concat(p.Tensors.Select(t => t.Name + "|"))));
        Assert.Equal(["model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"], plan.Select(p => p.FileName));
        Assert.Equal("model.safetensors", ShardPlan.Plan([U8("a", 3), U8("b", 2)], 5).Single().FileName);
    }

    [Fact]
    public void Writes_hf_sharded_layout_with_index_from_parallel_writers()
    {
        var tensors = Enumerable.Range(0, 6).Select(i => new TensorInfo($"layer.{i}.weight", DType.BF16, [16, 8])).ToList();   // 256 bytes each
        string output = _dir.File("soup");
        using (var w = CheckpointWriter.Create(output, tensors, new CheckpointWriterOptions(MaxShardBytes: 600)))
        {
            Parallel.ForEach(tensors, t =>
            {
                for (int off = 0; off < 256; off += 64)
                    w.Write(t.Name, off, Enumerable.Range(off, 64).Select(b => (byte)(b ^ t.Name.Length ^ t.Name[6])).ToArray());
            });
            w.WriteText("soup-recipe.yaml", "merge_method: linear\n");
            w.Commit();
        }
        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
                      "model.safetensors.index.json", "soup-recipe.yaml"],
            Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetDirectories(_dir.Path, ".*"));

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "model.safetensors.index.json")));
        Assert.Equal(6 * 256, doc.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        Assert.Equal("model-00002-of-00003.safetensors", doc.RootElement.GetProperty("weight_map").GetProperty("layer.2.weight").GetString());

        using var back = Checkpoint.Open(output);
        Assert.Equal(6, back.Tensors.Count);
        foreach (var t in tensors)
            Assert.Equal(Enumerable.Range(0, 256).Select(b => (byte)(b ^ t.Name.Length ^ t.Name[6])), back.Tensors[t.Name].GetBytes().ToArray());
    }

    [Fact]
    public void Dispose_without_commit_leaves_nothing()
    {
        string output = _dir.File("never");
        using (var w = CheckpointWriter.Create(output, [U8("a", 4)], new CheckpointWriterOptions()))
        {
            w.Write("a", 0, new byte[2]);
            Assert.True(Directory.Exists(w.TempFolder));
        }
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void Commit_refuses_when_bytes_are_missing()
    {
        using var w = CheckpointWriter.Create(_dir.File("x"), [U8("a", 4)], new CheckpointWriterOptions());
        w.Write("a", 0, new byte[3]);
        Assert.Throws<InvalidOperationException>(w.Commit);
    }

    [Fact]
    public void Existing_destination_is_not_clobbered_without_overwrite()
    {
        string output = _dir.File("existing");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "precious");
        var e = Assert.ThrowsAny<ModelSoupsException>(() => CheckpointWriter.Create(output, [U8("a", 1)], new CheckpointWriterOptions()));
        Assert.Equal(output, e.Path);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(output, "keep.txt")));
        Assert.Single(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void Overwrite_replaces_the_destination_and_removes_the_old_one()
    {
        // Only a folder that looks like one of our outputs (weights + provenance) may be replaced.
        string output = _dir.File("existing");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "model.safetensors"), "old");
        File.WriteAllText(Path.Combine(output, "soup-recipe.yaml"), "old");
        using (var w = CheckpointWriter.Create(output, [U8("a", 1)], new CheckpointWriterOptions(Overwrite: true)))
        {
            w.Write("a", 0, [7]);
            w.Commit();
        }
        Assert.Equal(["model.safetensors"], Directory.GetFiles(output).Select(Path.GetFileName));
        Assert.Single(Directory.GetFileSystemEntries(_dir.Path));
        using var back = Checkpoint.Open(output);
        Assert.Equal(7, back.Tensors["a"].GetBytes()[0]);
    }

    [Fact]
    public void Writes_outside_a_tensor_are_refused()
    {
        using var w = CheckpointWriter.Create(_dir.File("x"), [U8("a", 4)], new CheckpointWriterOptions());
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Write("a", 3, new byte[2]));
        Assert.Throws<ArgumentException>(() => w.Write("nope", 0, new byte[1]));
    }
}
