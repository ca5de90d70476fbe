using ModelSoups.Formats.HuggingFace;
using ModelSoups.Formats.Safetensors;

namespace ModelSoups.Checkpoints;

/// <summary>A checkpoint backed by one or more memory-mapped safetensors files (see <see cref="Checkpoint.Open(string, CheckpointOpenOptions?)"/>).</summary>
public sealed class SafetensorsCheckpoint : ICheckpoint
{
    readonly IReadOnlyList<SafetensorsFile> _files;

    public string Location { get; }
    public string? Folder { get; }
    public IReadOnlyDictionary<string, TensorRef> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyList<string> Files { get; }

    /// <summary>The opened shard files, in shard order (headers, metadata, file order).</summary>
    public IReadOnlyList<SafetensorsFile> Shards => _files;

    /// <summary>The shard index, when the checkpoint was opened through one.</summary>
    public HfShardIndex? Index { get; }

    /// <summary>What a reader should know: byte-identical hidden duplicates that were set aside.</summary>
    public IReadOnlyList<string> Notes { get; }

    internal SafetensorsCheckpoint(string location, string? folder, IReadOnlyList<SafetensorsFile> files, HfShardIndex? index,
        IReadOnlySet<TensorRef>? hiddenCopies = null, IReadOnlyList<string>? notes = null)
    {
        Notes = notes ?? [];
        Location = location;
        Folder = folder;
        _files = files;
        Index = index;
        Files = files.Select(f => f.Path).ToList();
        Metadata = files.Count > 0 ? files[0].Metadata : new Dictionary<string, string>();

        var all = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
        foreach (var f in files)
            foreach (var t in f.Tensors)
                if (hiddenCopies?.Contains(t) != true && !all.TryAdd(t.Name, t))
                    throw new HfCheckpointException(HfCheckpointErrorKind.DuplicateTensor,
                        $"tensor '{t.Name}' is in both {Path.GetFileName(all[t.Name].SourcePath)} and {Path.GetFileName(f.Path)}.", f.Path);
        var sorted = new OrderedDictionary<string, TensorRef>(all.Count, StringComparer.Ordinal);
        foreach (var name in all.Keys.Order(StringComparer.Ordinal)) sorted.Add(name, all[name]);
        Tensors = sorted;
    }

    /// <summary>Unmaps every shard.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
