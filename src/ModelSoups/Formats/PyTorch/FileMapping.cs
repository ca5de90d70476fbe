using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// A whole file mapped read-only; storages are views into it. The handle stays open so that
/// <see cref="CheckUnchanged"/> can see another process rewrite or truncate the file while it is
/// mapped (reading a page past a truncated end would kill the process with SIGBUS). Dispose unmaps.
/// </summary>
internal sealed unsafe class FileMapping : IDisposable
{
    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly SafeFileHandle _handle;
    readonly Durability.FileStatus? _openedAs;
    readonly byte* _data;
    int _disposed;

    public string Path { get; }
    public long Length { get; }

    FileMapping(string path, long length, SafeFileHandle handle, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* data)
    {
        Path = path;
        Length = length;
        _handle = handle;
        _openedAs = Durability.Posix.Stat(handle);
        _map = map;
        _view = view;
        _data = data;
    }

    /// <summary>Opens and maps <paramref name="path"/> read-only (an empty file maps to nothing).</summary>
    public static FileMapping Open(string path)
    {
        // A FIFO would block the open forever, a device could be endless: only regular files are opened.
        if (Durability.Posix.Stat(path) is { IsRegularFile: false } st)
            throw new PyTorchFormatException(PyTorchErrorKind.Unreadable, $"this is {st.TypeName}, not a regular file; give a checkpoint file.", path);
        SafeFileHandle handle;
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PyTorchFormatException(PyTorchErrorKind.Unreadable,
                e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist." : $"cannot open the file ({e.Message}).", path, e);
        }
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length == 0) return new FileMapping(path, 0, handle, null, null, null);
            var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new FileMapping(path, length, handle, map, view, p + view.PointerOffset);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            view?.Dispose();
            map?.Dispose();
            handle.Dispose();
            throw new PyTorchFormatException(PyTorchErrorKind.Unreadable, $"cannot map the file ({e.Message}).", path, e);
        }
    }

    /// <summary>Bytes [<paramref name="offset"/>, +<paramref name="count"/>) of the file; the caller has validated the range.</summary>
    public ReadOnlySpan<byte> Slice(long offset, int count)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (offset < 0 || count < 0 || offset > Length - count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + count}) are outside {Path} ({Length} bytes).");
        return count == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(_data + offset, count);
    }

    /// <summary>Bytes [<paramref name="offset"/>, + <paramref name="destination"/>.Length) of the file by positional reads (no mapped page is touched).</summary>
    public void Read(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (offset < 0 || offset > Length - destination.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + destination.Length}) are outside {Path} ({Length} bytes).");
        if (destination.Length > 0) Durability.PositionalRead.Exactly(_handle, offset, destination, Path, Length);
    }

    /// <summary>
    /// Throws <see cref="EnvironmentFaultException"/> when the file changed size or modification time since
    /// it was opened (as <c>SafetensorsFile.CheckUnchanged</c> does for safetensors inputs).
    /// </summary>
    public void CheckUnchanged()
    {
        if (_openedAs is not { } before || Volatile.Read(ref _disposed) != 0) return;
        before.RequireUnchanged(_handle, Path);
    }

    /// <summary>Unmaps the file and closes it; spans obtained earlier must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
        _handle.Dispose();
    }
}
