using ModelSoups.Checkpoints;
using ModelSoups.Formats.HuggingFace;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// A checkpoint backed by one or more <c>torch.save</c> files (a <c>.bin</c>/<c>.pt</c>/<c>.pth</c>,
/// or the shards of a <c>pytorch_model.bin.index.json</c>), opened through
/// <see cref="Checkpoint.Open(string, CheckpointOpenOptions?)"/>. Files are memory-mapped and their
/// pickles read by a restricted unpickler that never executes anything.
/// </summary>
public sealed class PyTorchCheckpoint : ICheckpoint
{
    readonly List<PyTorchFile> _files;

    /// <inheritdoc/>
    public string Location { get; }
    /// <inheritdoc/>
    public string? Folder { get; }
    /// <inheritdoc/>
    public IReadOnlyDictionary<string, TensorRef> Tensors { get; }
    /// <summary>Always empty: <c>torch.save</c> files carry no string metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();
    /// <inheritdoc/>
    public IReadOnlyList<string> Files { get; }
    /// <summary>What the reader chose or skipped (the state dict key it used, skipped entries, stripped prefixes), one line each.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The shard index, when opened through one.</summary>
    public HfShardIndex? Index { get; }

    /// <summary>Per file: "zip" or "legacy", and whether its storages are big-endian.</summary>
    public IReadOnlyList<(string Path, string Layout, bool BigEndian)> Layouts => _files.Select(f => (f.Path, f.Layout, f.BigEndian)).ToList();

    PyTorchCheckpoint(string location, string? folder, List<PyTorchFile> files, Dictionary<string, TensorRef> tensors, List<string> notes, HfShardIndex? index)
    {
        Location = location;
        Folder = folder;
        _files = files;
        Files = files.Select(f => f.Path).ToList();
        var sorted = new OrderedDictionary<string, TensorRef>(tensors.Count, StringComparer.Ordinal);
        foreach (var name in tensors.Keys.Order(StringComparer.Ordinal)) sorted.Add(name, tensors[name]);
        Tensors = sorted;
        Notes = notes;
        Index = index;
    }

    /// <summary>Opens <c>torch.save</c> files as one checkpoint; a tensor name may appear in only one of them.</summary>
    internal static PyTorchCheckpoint Open(IReadOnlyList<string> paths, string location, string? folder, CheckpointOpenOptions options, HfShardIndex? index = null, string? indexPath = null)
    {
        var files = new List<PyTorchFile>();
        try
        {
            var tensors = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
            var notes = new List<string>();
            var hidden = new List<(TensorRef Tensor, string Shard, string Listed)>();
            foreach (var p in paths)
            {
                var file = PyTorchFile.Open(p);
                files.Add(file);
                var selection = StateDictSelector.Select(file.Root, options, file.Path);
                string label = paths.Count > 1 ? Path.GetFileName(file.Path) + ": " : "";
                notes.AddRange(selection.Notes.Select(n => label + n).Where(n => !notes.Contains(n)));
                foreach (var (name, tensor) in selection.Tensors)
                {
                    var t = new PyTorchTensorRef(name, tensor, file.BigEndian, file.Path);
                    if (index is not null)
                    {
                        string shard = Path.GetFileName(file.Path);
                        if (!index.WeightMap.TryGetValue(name, out var listed))
                            throw new HfCheckpointException(HfCheckpointErrorKind.TensorNotInIndex,
                                $"shard {shard} holds tensor '{name}', which the index does not list (strict: the index must list every tensor).", indexPath!);
                        if (listed != shard) { hidden.Add((t, shard, listed)); continue; }   // checked against the index's copy below
                    }
                    if (!tensors.TryAdd(name, t))
                        throw new HfCheckpointException(HfCheckpointErrorKind.DuplicateTensor,
                            $"tensor '{name}' is in both {Path.GetFileName(tensors[name].SourcePath)} and {Path.GetFileName(file.Path)}.", file.Path);
                }
            }
            foreach (var (t, shard, listed) in hidden)
            {
                // A hidden duplicate: harmless only when it is the same bytes as the copy the index names.
                if (!tensors.TryGetValue(t.Name, out var indexed) || !indexed.HasSameContent(t))
                    throw new HfCheckpointException(HfCheckpointErrorKind.DuplicateTensor,
                        $"tensor '{t.Name}' is in shard {shard} but the index places it in {listed}" + (indexed is null ? "." : ", and the two copies differ; remove the one the index does not name."), indexPath!);
                notes.Add($"tensor '{t.Name}' is also stored in shard {shard}; that copy is byte-identical to the one the index names in {listed}, which is read.");
            }
            if (index is not null)
                foreach (var (name, shard) in index.WeightMap)
                    if (!tensors.ContainsKey(name))
                        throw new HfCheckpointException(HfCheckpointErrorKind.TensorMissingFromShard,
                            $"the index places tensor '{name}' in {shard}, but that shard does not contain it.", indexPath!);
            return new PyTorchCheckpoint(location, folder, files, tensors, notes, index);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
