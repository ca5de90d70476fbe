using Microsoft.Win32.SafeHandles;
using ModelSoups.Formats.HuggingFace;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.Checkpoints;

/// <summary>
/// Streams a checkpoint to disk in Hugging Face layout: the shard plan and every header are fixed
/// up front from the tensor list, so tensor bytes can then be written in any order, from any
/// number of threads, at their final positions. Everything goes to a temporary folder beside
/// the destination and is renamed into place by <see cref="Commit"/>; disposing without committing
/// deletes it and leaves the destination untouched.
/// </summary>
public sealed class CheckpointWriter : IDisposable
{
    sealed class Shard(string fileName, IReadOnlyList<TensorInfo> tensors, SafetensorsLayout layout, SafeFileHandle handle)
    {
        public string FileName => fileName;
        public IReadOnlyList<TensorInfo> Tensors => tensors;
        public SafetensorsLayout Layout => layout;
        public SafeFileHandle Handle => handle;
    }

    sealed class Slot(Shard shard, SafetensorsEntry entry)
    {
        public Shard Shard => shard;
        public SafetensorsEntry Entry => entry;
        public long Written;   // bytes written so far (Interlocked)
    }

    readonly string _outputFolder;
    readonly CheckpointWriterOptions _options;
    readonly List<Shard> _shards = [];
    readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    readonly HashSet<string> _extraFiles = new(StringComparer.Ordinal);
    bool _committed, _disposed;

    /// <summary>The temporary folder being filled (beside the destination, renamed by <see cref="Commit"/>).</summary>
    public string TempFolder { get; }

    /// <summary>The destination folder.</summary>
    public string OutputFolder => _outputFolder;

    /// <summary>Shard file names in order.</summary>
    public IReadOnlyList<string> ShardFiles => _shards.Select(s => s.FileName).ToList();

    /// <summary>The shard file a tensor goes to.</summary>
    public string ShardOf(string tensorName) => SlotOf(tensorName).Shard.FileName;

    CheckpointWriter(string outputFolder, CheckpointWriterOptions options, string tempFolder)
    {
        _outputFolder = outputFolder;
        _options = options;
        TempFolder = tempFolder;
    }

    /// <summary>
    /// Plans shards (greedily in the given order, as transformers), creates the temporary folder,
    /// writes each shard's header and sizes each file to its final length.
    /// </summary>
    /// <exception cref="ModelSoupsException">The destination exists and is not empty (without Overwrite), or a tensor is not writable.</exception>
    public static CheckpointWriter Create(string outputFolder, IReadOnlyList<TensorInfo> tensors, CheckpointWriterOptions options)
    {
        string output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputFolder));
        if (File.Exists(output))
            throw new ModelSoupsException("the output path is a file, not a folder.", output);
        if (!options.Overwrite && IsNonEmptyFolder(output))
            throw new ModelSoupsException("the output folder already exists and is not empty; choose another or allow overwriting.", output);
        if (options.MaxShardBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "MaxShardBytes must be positive.");

        var plan = ShardPlan.Plan(tensors, options.MaxShardBytes);
        var layouts = plan.Select(p => (p.FileName, Tensors: (IReadOnlyList<TensorInfo>)p.Tensors.ToList(), Layout: SafetensorsLayout.Plan(p.Tensors, options.Metadata))).ToList();

        string parent = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{Path.GetFileName(output)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        var writer = new CheckpointWriter(output, options, temp);
        try
        {
            foreach (var (fileName, shardTensors, layout) in layouts)
            {
                var handle = File.OpenHandle(Path.Combine(temp, fileName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
                var shard = new Shard(fileName, shardTensors, layout, handle);
                writer._shards.Add(shard);
                RandomAccess.SetLength(handle, layout.FileLength);
                RandomAccess.Write(handle, layout.HeaderBytes, 0);
                foreach (var e in layout.Entries) writer._slots.Add(e.Name, new Slot(shard, e));
            }
            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Rewrites every shard's header with new metadata of the same length, so a value known only at the end
    /// (the inputs' SHA-256, hashed while the merge runs) can be reserved with a same-length placeholder up front.
    /// </summary>
    /// <exception cref="InvalidOperationException">The new header's length differs from the one written (a bug in the caller).</exception>
    public void ReplaceMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("the checkpoint is already committed.");
        var headers = _shards.Select(s => SafetensorsLayout.Plan(s.Tensors, metadata).HeaderBytes).ToList();
        for (int i = 0; i < _shards.Count; i++)
            if (headers[i].Length != _shards[i].Layout.HeaderBytes.Length)
                throw new InvalidOperationException($"the new metadata changes the header length of {_shards[i].FileName} ({headers[i].Length} vs {_shards[i].Layout.HeaderBytes.Length} bytes).");
        for (int i = 0; i < _shards.Count; i++) RandomAccess.Write(_shards[i].Handle, headers[i], 0);
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> at <paramref name="byteOffset"/> within tensor <paramref name="tensorName"/>.
    /// Thread-safe (positional writes); each byte of each tensor must be written exactly once before <see cref="Commit"/>.
    /// </summary>
    public void Write(string tensorName, long byteOffset, ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("the checkpoint is already committed.");
        var slot = SlotOf(tensorName);
        long length = slot.Entry.ByteLength;
        if (byteOffset < 0 || byteOffset > length - bytes.Length)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + bytes.Length}) are outside tensor '{tensorName}' ({length} bytes).");
        if (bytes.IsEmpty) return;
        RandomAccess.Write(slot.Shard.Handle, bytes, slot.Shard.Layout.HeaderBytes.Length + slot.Entry.Begin + byteOffset);
        Interlocked.Add(ref slot.Written, bytes.Length);
    }

    /// <summary>Copies a file (e.g. <c>config.json</c>) into the checkpoint folder.</summary>
    public void CopyFile(string sourcePath, string? destName = null)
    {
        string name = CheckExtraName(destName ?? Path.GetFileName(sourcePath));
        try { File.Copy(sourcePath, Path.Combine(TempFolder, name)); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelSoupsException("cannot copy this file into the output: it does not exist.", sourcePath, e);
        }
    }

    /// <summary>Writes a text file (UTF-8, e.g. <c>soup-recipe.yaml</c>) into the checkpoint folder.</summary>
    public void WriteText(string fileName, string content)
    {
        File.WriteAllText(Path.Combine(TempFolder, CheckExtraName(fileName)), content);
    }

    string CheckExtraName(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("the checkpoint is already committed.");
        if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a plain file name.", nameof(name));
        if (_shards.Any(s => s.FileName == name) || name == HfShardIndex.DefaultFileName || !_extraFiles.Add(name))
            throw new ArgumentException($"'{name}' is already part of the checkpoint.", nameof(name));
        return name;
    }

    /// <summary>
    /// Checks every tensor byte was written, flushes and fsyncs the shards, writes the index
    /// (when there is more than one shard), and renames the temporary folder to the destination.
    /// With <see cref="CheckpointWriterOptions.Overwrite"/> an existing destination is moved aside,
    /// replaced, then deleted; without it a non-empty destination is refused.
    /// </summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("the checkpoint is already committed.");
        // A missing byte is a bug in whoever drives the writer, not a user error.
        foreach (var (name, slot) in _slots)
            if (slot.Written != slot.Entry.ByteLength)
                throw new InvalidOperationException($"tensor '{name}': {slot.Written} of {slot.Entry.ByteLength} bytes were written.");

        foreach (var s in _shards)
        {
            FlushToDisk(s.Handle);
            s.Handle.Dispose();
        }
        if (_shards.Count > 1)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, slot) in _slots) map[name] = slot.Shard.FileName;
            var index = new HfShardIndex(map, _slots.Values.Sum(s => s.Entry.ByteLength));
            string indexPath = Path.Combine(TempFolder, HfShardIndex.DefaultFileName);
            File.WriteAllText(indexPath, index.ToJson());
            using var h = File.OpenHandle(indexPath, FileMode.Open, FileAccess.ReadWrite);
            FlushToDisk(h);
        }

        Publish();
        _committed = true;
    }

    void Publish()
    {
        if (!Directory.Exists(_outputFolder))
        {
            Directory.Move(TempFolder, _outputFolder);
            return;
        }
        if (!IsNonEmptyFolder(_outputFolder))
        {
            Directory.Delete(_outputFolder);
            Directory.Move(TempFolder, _outputFolder);
            return;
        }
        if (!_options.Overwrite)
            throw new ModelSoupsException("the output folder already exists and is not empty; choose another or allow overwriting.", _outputFolder);
        string aside = Path.Combine(Path.GetDirectoryName(_outputFolder)!, $".{Path.GetFileName(_outputFolder)}.old-{Guid.NewGuid():N}");
        Directory.Move(_outputFolder, aside);
        try
        {
            Directory.Move(TempFolder, _outputFolder);
        }
        catch
        {
            Directory.Move(aside, _outputFolder);   // put the old one back; the new one stays in TempFolder for Dispose
            throw;
        }
        Directory.Delete(aside, recursive: true);
    }

    static void FlushToDisk(SafeFileHandle handle)
    {
        using var fs = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        fs.Flush(flushToDisk: true);
    }

    static bool IsNonEmptyFolder(string path) => Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any();

    Slot SlotOf(string tensorName) =>
        _slots.TryGetValue(tensorName, out var slot) ? slot : throw new ArgumentException($"tensor '{tensorName}' is not in this checkpoint's plan.", nameof(tensorName));

    /// <summary>Closes the files; without a successful <see cref="Commit"/>, deletes the temporary folder.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _shards) s.Handle.Dispose();
        if (!_committed && Directory.Exists(TempFolder))
            Directory.Delete(TempFolder, recursive: true);
    }
}
