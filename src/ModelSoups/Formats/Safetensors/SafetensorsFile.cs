using System.IO.MemoryMappedFiles;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.Formats.Safetensors;

/// <summary>
/// One safetensors file, opened read-only and memory-mapped. The header is validated in full
/// before the data is mapped; tensors are zero-copy views into the mapping. Dispose to unmap.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly byte* _data;   // first byte of the data section (null when the file has no data)
    readonly Dictionary<string, TensorRef> _tensors;
    readonly Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;
    readonly Durability.FileStatus? _openedAs;
    int _disposed;

    /// <summary>The validated header.</summary>
    public SafetensorsHeader Header { get; }

    /// <summary>Absolute path of the file.</summary>
    public string Path => Header.Path;

    /// <summary>Tensors in file order (by data offset).</summary>
    public IReadOnlyList<TensorRef> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map; empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;

    SafetensorsFile(SafetensorsHeader header, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* data,
        Microsoft.Win32.SafeHandles.SafeFileHandle? handle = null)
    {
        Header = header;
        _handle = handle;
        _openedAs = handle is null ? null : Durability.Posix.Stat(handle);
        _map = map;
        _view = view;
        _data = data;
        var list = new List<TensorRef>(header.Entries.Count);
        _tensors = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
        foreach (var e in header.Entries)
        {
            var t = new MappedTensor(this, e);
            list.Add(t);
            _tensors.Add(e.Name, t);
        }
        Tensors = list;
    }

    /// <summary>The tensor with this name, or null.</summary>
    public TensorRef? Find(string name) => _tensors.GetValueOrDefault(name);

    /// <summary>Opens, validates and maps <paramref name="path"/>.</summary>
    /// <exception cref="SafetensorsFormatException">The file is missing, unreadable or breaks a rule of the format.</exception>
    public static SafetensorsFile Open(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        var handle = SafetensorsHeader.OpenRead(path);
        SafetensorsHeader header;
        try { header = SafetensorsHeader.Read(handle, path); }
        catch
        {
            handle.Dispose();
            throw;
        }
        if (header.FileLength == header.DataStart)
        {
            handle.Dispose();
            return new SafetensorsFile(header, null, null, null);   // nothing to map (all tensors empty)
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            // Map exactly the validated length; the handle is ours to close, the mapping keeps its own reference.
            var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            view = map.CreateViewAccessor(0, header.FileLength, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            // The handle stays open: it is how CheckUnchanged sees a rewrite of this very file.
            return new SafetensorsFile(header, map, view, p + header.DataStart, handle);
        }
        catch (IOException e)
        {
            view?.Dispose();
            map?.Dispose();
            handle.Dispose();
            throw new SafetensorsFormatException(SafetensorsErrorKind.Unreadable, $"cannot map the file ({e.Message}).", path, e);
        }
    }

    internal ReadOnlySpan<byte> Slice(SafetensorsEntry entry, long byteOffset, int byteCount)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        long length = entry.ByteLength;
        if (byteOffset < 0 || byteCount < 0 || byteOffset > length - byteCount)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + byteCount}) are outside tensor '{entry.Name}' ({length} bytes).");
        if (byteCount == 0) return ReadOnlySpan<byte>.Empty;
        return new ReadOnlySpan<byte>(_data + entry.Begin + byteOffset, byteCount);
    }

    internal void Read(SafetensorsEntry entry, long byteOffset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        long length = entry.ByteLength;
        int byteCount = destination.Length;
        if (byteOffset < 0 || byteOffset > length - byteCount)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + byteCount}) are outside tensor '{entry.Name}' ({length} bytes).");
        if (byteCount == 0) return;
        Durability.PositionalRead.Exactly(_handle!, Header.DataStart + entry.Begin + byteOffset, destination, Path, Header.FileLength);
    }

    /// <summary>
    /// Throws <see cref="EnvironmentFaultException"/> when the file changed size or modification time since it was
    /// opened: another process is rewriting it. Reading a mapped page past a truncated end kills the process
    /// (SIGBUS), so readers check before touching the mapping and again after, and stop cleanly instead.
    /// </summary>
    public void CheckUnchanged()
    {
        if (_handle is null || _openedAs is not { } before || Volatile.Read(ref _disposed) != 0) return;
        before.RequireUnchanged(_handle, Path);
    }

    /// <summary>Unmaps the file; views obtained earlier must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _handle?.Dispose();
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }

    /// <summary>
    /// Writes a complete safetensors file from in-memory tensors (for tests and small outputs):
    /// laid out as the reference writer does, through <see cref="Durability.AtomicFile"/> (a temporary file beside
    /// <paramref name="path"/>, fsynced, renamed into place only once complete).
    /// </summary>
    public static void Write(string path, IEnumerable<(TensorInfo Info, byte[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        foreach (var (info, bytes) in list)
            if (bytes.LongLength != info.ByteLength)
                throw new ArgumentException($"tensor '{info.Name}' has {bytes.LongLength} bytes of data but {info.DType.SafetensorsName()} {info.ShapeText} needs {info.ByteLength}.", nameof(tensors));
        var layout = SafetensorsLayout.Plan(list.Select(t => t.Info), metadata);
        var data = list.ToDictionary(t => t.Info.Name, t => t.Data, StringComparer.Ordinal);

        Durability.AtomicFile.Write(path, fs =>
        {
            fs.Write(layout.HeaderBytes);
            foreach (var e in layout.Entries) fs.Write(data[e.Name]);
        });
    }

    sealed class MappedTensor(SafetensorsFile file, SafetensorsEntry entry) : TensorRef
    {
        public override TensorInfo Info => entry.Info;
        public override string? SourcePath => file.Path;
        public override ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount) => file.Slice(entry, byteOffset, byteCount);
        public override void ReadInto(long byteOffset, Span<byte> destination) => file.Read(entry, byteOffset, destination);
        public override void CheckUnchanged() => file.CheckUnchanged();
    }
}
