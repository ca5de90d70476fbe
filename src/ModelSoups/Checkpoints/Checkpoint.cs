using ModelSoups.Formats.HuggingFace;
using ModelSoups.Formats.Safetensors;

namespace ModelSoups.Checkpoints;

/// <summary>
/// Opens checkpoints: a Hugging Face folder (one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>), a shard index file, one <c>.safetensors</c> file, or a
/// list of files, each as one logical <see cref="ICheckpoint"/>. Everything is validated from the
/// headers before any tensor byte is used; files are memory-mapped, tensors are zero-copy views.
/// </summary>
public static class Checkpoint
{
    /// <summary>Opens a folder, an index file or a single safetensors file.</summary>
    /// <exception cref="ModelSoupsException">Missing path, malformed file, or inconsistent folder/index.</exception>
    public static SafetensorsCheckpoint Open(string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) return OpenFolder(full);
        if (File.Exists(full))
        {
            if (full.EndsWith(HfShardIndex.FileSuffix, StringComparison.Ordinal) || full.EndsWith(".index.json", StringComparison.Ordinal))
                return OpenIndex(full);
            return OpenFiles([full], full, Path.GetDirectoryName(full));
        }
        throw new HfCheckpointException(HfCheckpointErrorKind.NotFound, "no such file or folder.", path);
    }

    /// <summary>Opens several safetensors files as one checkpoint; a tensor name may appear in only one of them.</summary>
    public static SafetensorsCheckpoint Open(IReadOnlyList<string> files)
    {
        if (files.Count == 1) return Open(files[0]);
        var full = files.Select(Path.GetFullPath).ToList();
        string location = full.Count == 0 ? "(no files)" : $"{full.Count} files ({string.Join(", ", full.Select(Path.GetFileName))})";
        return OpenFiles(full, location, full.Count == 0 ? null : Path.GetDirectoryName(full[0]));
    }

    static SafetensorsCheckpoint OpenFolder(string folder)
    {
        var indexes = Directory.GetFiles(folder, "*" + HfShardIndex.FileSuffix).Order(StringComparer.Ordinal).ToArray();
        string defaultIndex = Path.Combine(folder, HfShardIndex.DefaultFileName);
        if (indexes.Contains(defaultIndex)) return OpenIndex(defaultIndex);
        if (indexes.Length == 1) return OpenIndex(indexes[0]);
        if (indexes.Length > 1)
            throw new HfCheckpointException(HfCheckpointErrorKind.Ambiguous,
                $"the folder has {indexes.Length} shard indexes ({string.Join(", ", indexes.Select(Path.GetFileName))}) and none is {HfShardIndex.DefaultFileName}; open one of them directly.", folder);

        string single = Path.Combine(folder, ShardPlan.SingleFileName);
        if (File.Exists(single)) return OpenFiles([single], folder, folder);
        var weights = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (weights.Length == 1) return OpenFiles(weights, folder, folder);
        if (weights.Length == 0)
            throw new HfCheckpointException(HfCheckpointErrorKind.NoWeights, "the folder has no .safetensors weights (model.safetensors or a model.safetensors.index.json).", folder);
        throw new HfCheckpointException(HfCheckpointErrorKind.Ambiguous,
            $"the folder has {weights.Length} .safetensors files but no {ShardPlan.SingleFileName} and no shard index; pass the files explicitly.", folder);
    }

    static SafetensorsCheckpoint OpenIndex(string indexPath)
    {
        string folder = Path.GetDirectoryName(indexPath)!;
        var index = HfShardIndex.Read(indexPath);
        string folderPrefix = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;

        // Every shard must be a file inside the index's folder: no absolute paths, no escaping with "..".
        var shardPaths = new List<string>();
        foreach (var name in index.ShardFiles)
        {
            string candidate = Path.GetFullPath(Path.Combine(folder, name));
            if (Path.IsPathRooted(name) || name.Contains('\\') || !candidate.StartsWith(folderPrefix, StringComparison.Ordinal))
                throw new HfCheckpointException(HfCheckpointErrorKind.ShardOutsideFolder, $"the index names shard '{name}', which is outside the index's folder.", indexPath);
            if (Directory.Exists(candidate))
                throw new HfCheckpointException(HfCheckpointErrorKind.MissingShard, $"the index names shard '{Tensors.PrintableName.Of(name)}', which is a folder, not a file.", indexPath);
            if (!File.Exists(candidate))
                throw new HfCheckpointException(HfCheckpointErrorKind.MissingShard, $"the index names shard '{Tensors.PrintableName.Of(name)}', which does not exist.", indexPath);
            shardPaths.Add(candidate);
        }

        var files = new List<SafetensorsFile>();
        try
        {
            foreach (var p in shardPaths) files.Add(SafetensorsFile.Open(p));
            for (int i = 0; i < files.Count; i++)
            {
                var file = files[i];
                string shardName = index.ShardFiles[i];
                foreach (var t in file.Tensors)
                {
                    if (!index.WeightMap.TryGetValue(t.Name, out var listed))
                        throw new HfCheckpointException(HfCheckpointErrorKind.TensorNotInIndex,
                            $"shard {shardName} holds tensor '{t.Name}', which the index does not list (strict: the index must list every tensor).", indexPath);
                    if (listed != shardName)
                        throw new HfCheckpointException(HfCheckpointErrorKind.DuplicateTensor,
                            $"tensor '{t.Name}' is in shard {shardName} but the index places it in {listed}.", indexPath);
                }
            }
            var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            for (int i = 0; i < files.Count; i++) byShard.Add(index.ShardFiles[i], files[i]);
            foreach (var (name, shard) in index.WeightMap)
            {
                var file = byShard[shard];
                if (file.Find(name) is null)
                    throw new HfCheckpointException(HfCheckpointErrorKind.TensorMissingFromShard,
                        $"the index places tensor '{name}' in {shard}, but that shard does not contain it.", indexPath);
            }
            return new SafetensorsCheckpoint(folder, folder, files, index);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    static SafetensorsCheckpoint OpenFiles(IReadOnlyList<string> paths, string location, string? folder)
    {
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (var p in paths)
            {
                if (Directory.Exists(p))
                    throw new HfCheckpointException(HfCheckpointErrorKind.Ambiguous, "is a folder; open folders on their own, not in a file list.", p);
                files.Add(SafetensorsFile.Open(p));
            }
            return new SafetensorsCheckpoint(location, folder, files, null);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes any checkpoint to <paramref name="outputFolder"/> in Hugging Face layout through a
    /// <see cref="CheckpointWriter"/> (tensors in name order, copied in blocks of at most 64 MiB).
    /// </summary>
    public static void Save(ICheckpoint source, string outputFolder, CheckpointWriterOptions? options = null)
    {
        const int Block = 64 << 20;
        var infos = source.Tensors.Values.Select(t => t.Info).ToList();
        using var writer = CheckpointWriter.Create(outputFolder, infos, options ?? new CheckpointWriterOptions());
        foreach (var t in source.Tensors.Values)
            for (long off = 0; off < t.ByteLength; off += Block)
            {
                int n = (int)Math.Min(Block, t.ByteLength - off);
                writer.Write(t.Name, off, t.GetBytes(off, n));
            }
        writer.Commit();
    }
}
