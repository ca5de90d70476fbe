using ModelSoups.Formats;
using ModelSoups.Formats.HuggingFace;
using ModelSoups.Formats.PyTorch;
using ModelSoups.Formats.Safetensors;

namespace ModelSoups.Checkpoints;

/// <summary>
/// Opens checkpoints: a Hugging Face folder (one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>; else <c>pytorch_model.bin</c> or a
/// <c>pytorch_model.bin.index.json</c> and its shards), a shard index file, one
/// <c>.safetensors</c> file, one <c>torch.save</c> file (<c>.bin</c>, <c>.pt</c>, <c>.pth</c>, ...),
/// or a list of files, each as one logical <see cref="ICheckpoint"/>. The format is told from
/// the file's first bytes, not its name. Everything is validated before any tensor byte is used;
/// files are memory-mapped, tensors are zero-copy views where the layout allows.
/// </summary>
public static class Checkpoint
{
    /// <summary>The file name transformers uses for a single PyTorch weights file.</summary>
    public const string PyTorchSingleFileName = "pytorch_model.bin";

    /// <summary>The file name transformers uses for the index of <c>pytorch_model.bin</c> shards.</summary>
    public const string PyTorchIndexFileName = "pytorch_model.bin.index.json";

    /// <summary>Opens a folder, an index file, a single safetensors file or a single torch.save file.</summary>
    /// <param name="path">The folder or file.</param>
    /// <param name="options">How to pick the state dict out of PyTorch files; null for the defaults.</param>
    /// <exception cref="ModelSoupsException">Missing path, malformed file, or inconsistent folder/index.</exception>
    public static ICheckpoint Open(string path, CheckpointOpenOptions? options = null)
    {
        options ??= CheckpointOpenOptions.Default;
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) return OpenFolder(full, options);
        if (File.Exists(full))
        {
            if (full.EndsWith(".index.json", StringComparison.Ordinal))
                return OpenIndex(full, options);
            return OpenFiles([full], full, Path.GetDirectoryName(full), options);
        }
        throw new HfCheckpointException(HfCheckpointErrorKind.NotFound, "no such file or folder.", path);
    }

    /// <summary>Opens several weight files (all safetensors or all torch.save) as one checkpoint; a tensor name may appear in only one of them.</summary>
    public static ICheckpoint Open(IReadOnlyList<string> files, CheckpointOpenOptions? options = null)
    {
        if (files.Count == 1) return Open(files[0], options);
        var full = files.Select(Path.GetFullPath).ToList();
        string location = full.Count == 0 ? "(no files)" : $"{full.Count} files ({string.Join(", ", full.Select(Path.GetFileName))})";
        return OpenFiles(full, location, full.Count == 0 ? null : Path.GetDirectoryName(full[0]), options ?? CheckpointOpenOptions.Default);
    }

    static ICheckpoint OpenFolder(string folder, CheckpointOpenOptions options)
    {
        var indexes = Directory.GetFiles(folder, "*" + HfShardIndex.FileSuffix).Order(StringComparer.Ordinal).ToArray();
        string defaultIndex = Path.Combine(folder, HfShardIndex.DefaultFileName);
        if (indexes.Contains(defaultIndex)) return OpenIndex(defaultIndex, options);
        if (indexes.Length == 1) return OpenIndex(indexes[0], options);
        if (indexes.Length > 1)
            throw new HfCheckpointException(HfCheckpointErrorKind.Ambiguous,
                $"the folder has {indexes.Length} shard indexes ({string.Join(", ", indexes.Select(Path.GetFileName))}) and none is {HfShardIndex.DefaultFileName}; open one of them directly.", folder);

        string single = Path.Combine(folder, ShardPlan.SingleFileName);
        if (File.Exists(single)) return OpenFiles([single], folder, folder, options);
        var weights = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (weights.Length == 1) return OpenFiles(weights, folder, folder, options);
        if (weights.Length > 1)
            throw new HfCheckpointException(HfCheckpointErrorKind.Ambiguous,
                $"the folder has {weights.Length} .safetensors files but no {ShardPlan.SingleFileName} and no shard index; pass the files explicitly.", folder);

        // No safetensors: PyTorch weights, as transformers names them (it, too, prefers safetensors).
        string binIndex = Path.Combine(folder, PyTorchIndexFileName);
        if (File.Exists(binIndex)) return OpenIndex(binIndex, options);
        string bin = Path.Combine(folder, PyTorchSingleFileName);
        if (File.Exists(bin)) return OpenFiles([bin], folder, folder, options);
        throw new HfCheckpointException(HfCheckpointErrorKind.NoWeights,
            $"the folder has no weights (model.safetensors, a model.safetensors.index.json, {PyTorchSingleFileName} or a {PyTorchIndexFileName}).", folder);
    }

    /// <summary>The index's shard files as absolute paths; each must be a file inside the index's folder (no absolute paths, no "..").</summary>
    static List<string> ShardPaths(HfShardIndex index, string indexPath)
    {
        string folder = Path.GetDirectoryName(indexPath)!;
        string folderPrefix = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
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
        return shardPaths;
    }

    static ICheckpoint OpenIndex(string indexPath, CheckpointOpenOptions options)
    {
        string folder = Path.GetDirectoryName(indexPath)!;
        var index = HfShardIndex.Read(indexPath);
        var shardPaths = ShardPaths(index, indexPath);
        if (shardPaths.Count > 0 && IsPyTorch(shardPaths[0]))
        {
            if (options.StripPrefix is { Length: > 0 } prefix)   // the index lists the names as saved
                index = new HfShardIndex(index.WeightMap.ToDictionary(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) ? kv.Key[prefix.Length..] : kv.Key, kv => kv.Value, StringComparer.Ordinal), index.TotalSize);
            return PyTorchCheckpoint.Open(shardPaths, folder, folder, options, index, indexPath);
        }
        return OpenSafetensorsIndex(indexPath, folder, index, shardPaths);
    }

    static SafetensorsCheckpoint OpenSafetensorsIndex(string indexPath, string folder, HfShardIndex index, List<string> shardPaths)
    {
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (var p in shardPaths) files.Add(SafetensorsFile.Open(p));
            var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            for (int i = 0; i < files.Count; i++) byShard.Add(index.ShardFiles[i], files[i]);
            var hidden = new HashSet<TensorRef>(ReferenceEqualityComparer.Instance);
            var notes = new List<string>();
            for (int i = 0; i < files.Count; i++)
            {
                var file = files[i];
                string shardName = index.ShardFiles[i];
                foreach (var t in file.Tensors)
                {
                    if (!index.WeightMap.TryGetValue(t.Name, out var listed))
                        throw new HfCheckpointException(HfCheckpointErrorKind.TensorNotInIndex,
                            $"shard {shardName} holds tensor '{t.Name}', which the index does not list (strict: the index must list every tensor).", indexPath);
                    if (listed == shardName) continue;
                    // A hidden duplicate: which copy a reader sees depends on the reader. Harmless only when both are the same bytes.
                    if (byShard[listed].Find(t.Name) is not { } indexed || !indexed.HasSameContent(t))
                        throw new HfCheckpointException(HfCheckpointErrorKind.DuplicateTensor,
                            $"tensor '{t.Name}' is in shard {shardName} but the index places it in {listed}" +
                            (byShard[listed].Find(t.Name) is null ? "." : ", and the two copies differ; remove the one the index does not name."), indexPath);
                    hidden.Add(t);
                    notes.Add($"tensor '{t.Name}' is also stored in shard {shardName}; that copy is byte-identical to the one the index names in {listed}, which is read.");
                }
            }
            foreach (var (name, shard) in index.WeightMap)
            {
                var file = byShard[shard];
                if (file.Find(name) is null)
                    throw new HfCheckpointException(HfCheckpointErrorKind.TensorMissingFromShard,
                        $"the index places tensor '{name}' in {shard}, but that shard does not contain it.", indexPath);
            }
            return new SafetensorsCheckpoint(folder, folder, files, index, hidden, notes);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    static ICheckpoint OpenFiles(IReadOnlyList<string> paths, string location, string? folder, CheckpointOpenOptions options)
    {
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
                throw new HfCheckpointException(HfCheckpointErrorKind.Ambiguous, "is a folder; open folders on their own, not in a file list.", p);
            // Before anything reads a byte (even the format sniffing): opening a FIFO would block forever.
            if (Durability.Posix.Stat(p) is { IsRegularFile: false } st)
                throw new SafetensorsFormatException(SafetensorsErrorKind.NotARegularFile, $"this is {st.TypeName}, not a regular file; give a checkpoint file.", p);
        }
        var torch = paths.Where(IsPyTorch).ToList();
        if (torch.Count == paths.Count && paths.Count > 0) return PyTorchCheckpoint.Open(paths, location, folder, options);
        if (torch.Count > 0)
            throw new HfCheckpointException(HfCheckpointErrorKind.Ambiguous,
                $"the file list mixes torch.save files ({string.Join(", ", torch.Select(Path.GetFileName))}) with other files; open them as separate checkpoints.", torch[0]);
        foreach (var p in paths) RefuseOtherFormats(p);

        var files = new List<SafetensorsFile>();
        try
        {
            foreach (var p in paths) files.Add(SafetensorsFile.Open(p));
            return new SafetensorsCheckpoint(location, folder, files, null);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>A zip or a pickle is read as torch.save (its own reader says when it is not one).</summary>
    static bool IsPyTorch(string path) => FileSignature.Detect(path) is FileKind.Zip or FileKind.Pickle;

    /// <summary>
    /// A file that is recognisably something else (GGUF, ONNX, tar) is refused by name rather than
    /// misread as a safetensors header; anything unrecognised that is not named .safetensors too.
    /// </summary>
    static void RefuseOtherFormats(string path)
    {
        if (!File.Exists(path) || Durability.Posix.Stat(path) is { IsRegularFile: false }) return;   // the safetensors reader reports these
        var kind = FileSignature.Detect(path);
        if (kind is FileKind.Gguf or FileKind.Onnx or FileKind.Tar
            || (kind == FileKind.Unknown && !path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)))
            throw new PyTorchFormatException(PyTorchErrorKind.NotPyTorch,
                $"is neither a safetensors file nor a torch.save file: it looks like {FileSignature.Describe(kind)}.", path);
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
