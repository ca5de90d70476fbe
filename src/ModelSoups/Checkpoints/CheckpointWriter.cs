using Microsoft.Win32.SafeHandles;
using ModelSoups.Durability;
using ModelSoups.Formats.HuggingFace;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.Checkpoints;

/// <summary>
/// Streams a checkpoint to disk in Hugging Face layout: the shard plan and every header are fixed
/// up front from the tensor list, so tensor bytes can then be written in any order, from any
/// number of threads, at their final positions. Everything goes through an <see cref="AtomicFolder"/>
/// (temporary folder beside the destination, locked, renamed or swapped into place by <see cref="Commit"/>);
/// disposing without committing deletes it and leaves the destination untouched. Every file is fsynced.
/// With overwrite, only a folder that looks like one of our outputs (weights and a provenance file,
/// <see cref="ProvenanceFiles"/>) is replaced.
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

    /// <summary>Files only our writers put beside the weights; a folder with weights and one of them may be overwritten.</summary>
    public static readonly string[] ProvenanceFiles = ["soup-recipe.yaml", "soup-model.json"];

    readonly AtomicFolder _folder;
    readonly long _totalBytes;
    readonly List<Shard> _shards = [];
    readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    readonly HashSet<string> _extraFiles = new(StringComparer.Ordinal);
    bool _committed, _disposed;

    /// <summary>The temporary folder being filled (beside the destination, renamed by <see cref="Commit"/>).</summary>
    public string TempFolder => _folder.TempPath;

    /// <summary>The destination folder.</summary>
    public string OutputFolder => _folder.Destination;

    /// <summary>What was cleaned up or repaired beside the destination before writing (abandoned temporary folders, an interrupted overwrite).</summary>
    public IReadOnlyList<string> Notes => _folder.Notes;

    /// <summary>Shard file names in order.</summary>
    public IReadOnlyList<string> ShardFiles => _shards.Select(s => s.FileName).ToList();

    /// <summary>The shard file a tensor goes to.</summary>
    public string ShardOf(string tensorName) => SlotOf(tensorName).Shard.FileName;

    CheckpointWriter(AtomicFolder folder, long totalBytes)
    {
        _folder = folder;
        _totalBytes = totalBytes;
    }

    /// <summary>
    /// Plans shards (greedily in the given order, as transformers), creates the temporary folder,
    /// writes each shard's header and sizes each file to its final length.
    /// </summary>
    /// <exception cref="ModelSoupsException">The destination exists and is not empty (without Overwrite), or a tensor is not writable.</exception>
    public static CheckpointWriter Create(string outputFolder, IReadOnlyList<TensorInfo> tensors, CheckpointWriterOptions options)
    {
        if (options.MaxShardBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "MaxShardBytes must be positive.");
        var plan = ShardPlan.Plan(tensors, options.MaxShardBytes);
        var layouts = plan.Select(p => (p.FileName, Tensors: (IReadOnlyList<TensorInfo>)p.Tensors.ToList(), Layout: SafetensorsLayout.Plan(p.Tensors, options.Metadata))).ToList();
        long total = layouts.Sum(l => l.Layout.FileLength);

        var folder = AtomicFolder.Create(outputFolder, options.Overwrite, WhyNotReplaceable);
        var writer = new CheckpointWriter(folder, total);
        try
        {
            RefuseWhenItCannotFit(folder, total);
            foreach (var (fileName, shardTensors, layout) in layouts)
            {
                var handle = File.OpenHandle(Path.Combine(folder.TempPath, fileName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
                var shard = new Shard(fileName, shardTensors, layout, handle);
                writer._shards.Add(shard);
                writer.Guard(fileName, () =>
                {
                    RandomAccess.SetLength(handle, layout.FileLength);
                    RandomAccess.Write(handle, layout.HeaderBytes, 0);
                });
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

    /// <summary>Why an existing folder must not be replaced: it is not something our writers made.</summary>
    public static string? WhyNotReplaceable(string folder)
    {
        bool weights = Directory.EnumerateFiles(folder, "*.safetensors").Any() || Directory.EnumerateFiles(folder, "*" + HfShardIndex.FileSuffix).Any();
        bool provenance = ProvenanceFiles.Any(f => File.Exists(Path.Combine(folder, f)));
        if (weights && provenance) return null;
        return weights
            ? $"the folder has weights but no {ProvenanceFiles[0]} or {ProvenanceFiles[1]}, so it was not written by soup and may be someone's model."
            : "the folder holds no .safetensors weights, so it is not a soup output.";
    }

    /// <summary>Refuses before writing anything when the device clearly has less free space than the output needs.</summary>
    static void RefuseWhenItCannotFit(AtomicFolder folder, long needed)
    {
        long free;
        try { free = new DriveInfo(folder.TempPath).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return; }
        if (free < needed)
            throw new EnvironmentFaultException(
                $"not enough space: the output needs {ByteSize.Format(needed)} ({needed:N0} bytes) and the device has {ByteSize.Format(free)} free. Nothing was written; free space or choose another output folder.",
                folder.Destination);
    }

    /// <summary>Runs an I/O step on <paramref name="fileName"/>, turning a full device into one clear error naming the file.</summary>
    void Guard(string fileName, Action io)
    {
        try { io(); }
        catch (IOException e) when (EnvironmentFaultException.IsDiskFull(e))
        {
            throw EnvironmentFaultException.DiskFull(Path.Combine(OutputFolder, fileName), _totalBytes, e);
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
        long position = slot.Shard.Layout.HeaderBytes.Length + slot.Entry.Begin + byteOffset;
        try { RandomAccess.Write(slot.Shard.Handle, bytes, position); }
        catch (IOException e) when (EnvironmentFaultException.IsDiskFull(e))
        {
            throw EnvironmentFaultException.DiskFull(Path.Combine(OutputFolder, slot.Shard.FileName), _totalBytes, e);
        }
        Interlocked.Add(ref slot.Written, bytes.Length);
    }

    /// <summary>Copies a file (e.g. <c>config.json</c>) into the checkpoint folder (fsynced).</summary>
    public void CopyFile(string sourcePath, string? destName = null)
    {
        string name = CheckExtraName(destName ?? Path.GetFileName(sourcePath));
        string target = Path.Combine(TempFolder, name);
        try { File.Copy(sourcePath, target); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelSoupsException("cannot copy this file into the output: it does not exist.", sourcePath, e);
        }
        catch (IOException e) when (EnvironmentFaultException.IsDiskFull(e))
        {
            throw EnvironmentFaultException.DiskFull(Path.Combine(OutputFolder, name), _totalBytes, e);
        }
        AtomicFile.FsyncAndClose(File.OpenHandle(target, FileMode.Open, FileAccess.ReadWrite));
    }

    /// <summary>Writes a text file (UTF-8, e.g. <c>soup-recipe.yaml</c>) into the checkpoint folder (fsynced).</summary>
    public void WriteText(string fileName, string content)
    {
        string name = CheckExtraName(fileName);
        Guard(name, () => _folder.WriteFile(name, content));
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
    /// Checks every tensor byte was written, fsyncs the shards, writes the index (when there is more
    /// than one shard), and moves the folder into place (<see cref="AtomicFolder.Commit"/>: with
    /// <see cref="CheckpointWriterOptions.Overwrite"/> an existing output is swapped out atomically).
    /// </summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("the checkpoint is already committed.");
        // A missing byte is a bug in whoever drives the writer, not a user error.
        foreach (var (name, slot) in _slots)
            if (slot.Written != slot.Entry.ByteLength)
                throw new InvalidOperationException($"tensor '{name}': {slot.Written} of {slot.Entry.ByteLength} bytes were written.");

        foreach (var s in _shards) Guard(s.FileName, () => AtomicFile.FsyncAndClose(s.Handle));
        if (_shards.Count > 1)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, slot) in _slots) map[name] = slot.Shard.FileName;
            var index = new HfShardIndex(map, _slots.Values.Sum(s => s.Entry.ByteLength));
            Guard(HfShardIndex.DefaultFileName, () => _folder.WriteFile(HfShardIndex.DefaultFileName, index.ToJson()));
        }

        Guard("", _folder.Commit);
        _committed = true;
    }

    Slot SlotOf(string tensorName) =>
        _slots.TryGetValue(tensorName, out var slot) ? slot : throw new ArgumentException($"tensor '{tensorName}' is not in this checkpoint's plan.", nameof(tensorName));

    /// <summary>Closes the files; without a successful <see cref="Commit"/>, deletes the temporary folder.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _shards) s.Handle.Dispose();
        _folder.Dispose();
    }
}
