using Microsoft.Win32.SafeHandles;

namespace ModelSoups.Durability;

/// <summary>
/// The one way a single file is written in place of another: into <c>.NAME.tmp-PID-START-ID</c> beside it,
/// fsynced, renamed over the destination (atomic on POSIX), then the folder fsynced. Readers see the old
/// file or the new one, never a torn one. Used for files that live on their own (a safetensors file, a
/// cache entry); files inside an <see cref="AtomicFolder"/> need only <see cref="WriteDurably"/>.
/// </summary>
public static class AtomicFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="content"/> atomically and durably.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var bytes = content.ToArray();
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Replaces <paramref name="path"/> with UTF-8 <paramref name="text"/> atomically and durably.</summary>
    public static void WriteAllText(string path, string text) => Write(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Replaces <paramref name="path"/> with what <paramref name="fill"/> writes, atomically and durably.</summary>
    public static void Write(string path, Action<FileStream> fill)
    {
        ArgumentNullException.ThrowIfNull(fill);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temp = AtomicFolder.SiblingPath(full, "tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                fill(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
            Posix.FsyncDirectory(folder);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Creates <paramref name="path"/> (it must not exist) with <paramref name="content"/> and fsyncs it.</summary>
    public static void WriteDurably(string path, ReadOnlySpan<byte> content)
    {
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        RandomAccess.Write(handle, content, 0);
        FsyncAndClose(handle);
    }

    /// <summary>Flushes a file's data and metadata to the device, then closes the handle.</summary>
    public static void FsyncAndClose(SafeFileHandle handle)
    {
        using var fs = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Removes <c>.NAME.tmp-…</c> files beside <paramref name="path"/> whose writer is gone.</summary>
    internal static void RemoveAbandoned(string path)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) return;
        var prefix = $".{Path.GetFileName(full)}.tmp-";
        foreach (var f in Directory.EnumerateFiles(folder, prefix + "*"))
        {
            var rest = Path.GetFileName(f)[prefix.Length..];
            int lastDash = rest.LastIndexOf('-');
            if (lastDash > 0 && ProcessStamp.TryParse(rest[..lastDash], out var owner) && !owner.IsAlive) File.Delete(f);
        }
    }
}
