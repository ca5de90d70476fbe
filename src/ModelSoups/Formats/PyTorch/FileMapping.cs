using System.IO.MemoryMappedFiles;

namespace ModelSoups.Formats.PyTorch;

/// <summary>A whole file mapped read-only; storages are views into it. Dispose unmaps.</summary>
internal sealed unsafe class FileMapping : IDisposable
{
    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly byte* _data;
    int _disposed;

    public string Path { get; }
    public long Length { get; }

    FileMapping(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* data)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _data = data;
    }

    /// <summary>Opens and maps <paramref name="path"/> read-only (an empty file maps to nothing).</summary>
    public static FileMapping Open(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = RandomAccess.GetLength(handle);
            if (length == 0) return new FileMapping(path, 0, null, null, null);
            var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            MemoryMappedViewAccessor? view = null;
            try
            {
                view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
                byte* p = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                return new FileMapping(path, length, map, view, p + view.PointerOffset);
            }
            catch
            {
                view?.Dispose();
                map.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PyTorchFormatException(PyTorchErrorKind.Unreadable,
                e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist." : $"cannot open the file ({e.Message}).", path, e);
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

    /// <summary>Unmaps the file; spans obtained earlier must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
