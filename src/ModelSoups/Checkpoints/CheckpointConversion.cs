using ModelSoups.Engine;
using ModelSoups.Formats.HuggingFace;

namespace ModelSoups.Checkpoints;

/// <summary>What <see cref="CheckpointConversion.ToSafetensors"/> does besides reading the input.</summary>
public sealed record ConversionOptions
{
    /// <summary>How to pick the state dict out of a PyTorch input.</summary>
    public CheckpointOpenOptions Open { get; init; } = CheckpointOpenOptions.Default;

    /// <summary>Largest shard file, bytes (Hugging Face's max_shard_size; default 5GB).</summary>
    public long MaxShardBytes { get; init; } = ShardSize.Default;

    /// <summary>Replace a non-empty destination (the old one is removed only after the new one is complete).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>What a conversion wrote.</summary>
/// <param name="Tensors">Tensors written.</param>
/// <param name="Bytes">Bytes of tensor data written (and read back).</param>
/// <param name="ShardFiles">The safetensors files, in shard order.</param>
/// <param name="CopiedFiles">Config and tokenizer files copied from the input folder.</param>
/// <param name="Notes">What the reader chose (see <see cref="ICheckpoint.Notes"/>).</param>
public sealed record ConversionResult(int Tensors, long Bytes, IReadOnlyList<string> ShardFiles, IReadOnlyList<string> CopiedFiles, IReadOnlyList<string> Notes);

/// <summary>
/// <c>soup convert</c>: any checkpoint this toolkit reads (a <c>torch.save</c> file, a
/// <c>pytorch_model.bin</c> folder, sharded or not, or safetensors) written as a Hugging Face
/// safetensors folder — the same tensors, names, dtypes, shapes and values (views resolved as
/// PyTorch shows them) — through <see cref="CheckpointWriter"/> (temporary folder, fsync, rename),
/// then read back and compared byte for byte with the input.
/// </summary>
public static class CheckpointConversion
{
    const int Block = 64 << 20;

    /// <summary>Converts <paramref name="input"/> into <paramref name="outputFolder"/>.</summary>
    /// <exception cref="ModelSoupsException">Unreadable input, an output inside the input, or a non-empty output without overwrite.</exception>
    public static ConversionResult ToSafetensors(string input, string outputFolder, ConversionOptions? options = null)
    {
        options ??= new ConversionOptions();
        string output = Path.GetFullPath(outputFolder);
        using var source = Checkpoint.Open(input, options.Open);
        string outputPrefix = Path.TrimEndingDirectorySeparator(output) + Path.DirectorySeparatorChar;
        if (source.Files.Any(f => f.StartsWith(outputPrefix, StringComparison.Ordinal)) || (source.Folder is { } folder && Path.GetFullPath(folder) == output))
            throw new ModelSoupsException("the output folder holds the input; choose another output folder.", output);

        var infos = source.Tensors.Values.Select(t => t.Info).ToList();
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        var copied = new List<string>();
        IReadOnlyList<string> shards;
        using (var writer = CheckpointWriter.Create(output, infos, new CheckpointWriterOptions(options.MaxShardBytes, metadata, options.Overwrite)))
        {
            // Positional reads (an input truncated meanwhile is an error naming it, not SIGBUS) into one staging buffer.
            var stage = new byte[(int)Math.Min(Block, Math.Max(1, source.Tensors.Values.Select(t => t.ByteLength).DefaultIfEmpty(1).Max()))];
            foreach (var t in source.Tensors.Values)
                for (long off = 0; off < t.ByteLength; off += Block)
                {
                    var piece = stage.AsSpan(0, (int)Math.Min(Block, t.ByteLength - off));
                    t.ReadInto(off, piece);
                    writer.Write(t.Name, off, piece);
                }
            if (Directory.Exists(source.Folder) && Path.GetFullPath(input) == Path.GetFullPath(source.Folder))
                foreach (var name in MergeEngine.SideFiles)
                {
                    string side = Path.Combine(source.Folder, name);
                    if (!File.Exists(side)) continue;
                    writer.CopyFile(side);
                    copied.Add(name);
                }
            shards = writer.ShardFiles;
            writer.Commit();
        }

        long bytes = Verify(source, output);
        return new ConversionResult(infos.Count, bytes, shards, copied, source.Notes);
    }

    /// <summary>Reads the output back and compares every tensor with the input; a difference is a bug, and the output is removed.</summary>
    static long Verify(ICheckpoint source, string output)
    {
        long bytes = 0;
        string? problem = null;
        using (var back = Checkpoint.Open(output))
        {
            if (back.Tensors.Count != source.Tensors.Count) problem = $"{back.Tensors.Count} tensors were read back instead of {source.Tensors.Count}";
            foreach (var t in source.Tensors.Values)
            {
                if (problem is not null) break;
                if (!back.Tensors.TryGetValue(t.Name, out var b) || b.Info.DType != t.Info.DType || !b.Info.SameShape(t.Info))
                {
                    problem = $"tensor '{t.Name}' reads back with a different name, dtype or shape";
                    break;
                }
                for (long off = 0; off < t.ByteLength; off += Block)
                {
                    int n = (int)Math.Min(Block, t.ByteLength - off);
                    if (!t.GetBytes(off, n).SequenceEqual(b.GetBytes(off, n)))
                    {
                        problem = $"tensor '{t.Name}' reads back with different bytes";
                        break;
                    }
                }
                bytes += t.ByteLength;
            }
        }
        if (problem is null) return bytes;
        Directory.Delete(output, recursive: true);
        throw new InvalidOperationException($"conversion check failed: {problem}; the output was removed.");
    }
}
