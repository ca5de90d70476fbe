using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace ModelSoups.Durability;

/// <summary>
/// An exclusive lock on an output (a destination folder or a work folder), held for as long as one
/// command writes there: an advisory <c>flock</c> on a small lock file, which the kernel releases when
/// the process exits or crashes, so a killed run never leaves a stale lock. A second run that finds the
/// lock held stops at once and names the process that holds it (from <c>/proc/locks</c>).
/// </summary>
public sealed class OutputLock : IDisposable
{
    readonly SafeFileHandle _handle;
    bool _disposed;

    /// <summary>The lock file.</summary>
    public string LockFile { get; }

    OutputLock(string lockFile, SafeFileHandle handle)
    {
        LockFile = lockFile;
        _handle = handle;
    }

    /// <summary>The lock file that guards <paramref name="folder"/>: a hidden file beside it, <c>.NAME.lock</c>.</summary>
    public static string LockFileFor(string folder)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
    }

    /// <summary>Locks <paramref name="folder"/> (creating its parent when needed).</summary>
    /// <exception cref="ModelSoupsException">Another process holds the lock.</exception>
    public static OutputLock Acquire(string folder)
    {
        var lockFile = LockFileFor(folder);
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        return AcquireFile(lockFile, Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
    }

    /// <summary>Locks the file <paramref name="lockFile"/> itself on behalf of <paramref name="what"/> (named in messages).</summary>
    public static OutputLock AcquireFile(string lockFile, string what)
    {
        for (int attempt = 0; ; attempt++)
        {
            SafeFileHandle handle;
            try
            {
                // FileShare.None: .NET itself takes flock(LOCK_EX|LOCK_NB) on Unix; the explicit flock below
                // keeps the lock when .NET's file locking is switched off (DOTNET_SYSTEM_IO_DISABLEFILELOCKING).
                handle = File.OpenHandle(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(lockFile) && !Directory.Exists(lockFile))
            {
                throw Busy(lockFile, what);
            }
            bool keep = false;
            try
            {
                if (!Posix.TryLockExclusive(handle)) throw Busy(lockFile, what);
                // The holder before us may have deleted the file between our open and our lock: then we hold
                // a lock on a file nobody else will open. Lock the file that is at the path now instead.
                if (Posix.Stat(handle) is { } mine && (Posix.Stat(lockFile, followLinks: false) is not { } there || !there.SameIdentity(mine)))
                {
                    if (attempt < 10) continue;
                    throw Busy(lockFile, what);
                }
                var text = System.Text.Encoding.ASCII.GetBytes($"{ProcessStamp.Current}\n");
                RandomAccess.SetLength(handle, 0);
                RandomAccess.Write(handle, text, 0);
                keep = true;
                return new OutputLock(lockFile, handle);
            }
            finally
            {
                if (!keep) handle.Dispose();
            }
        }
    }

    static ModelSoupsException Busy(string lockFile, string what)
    {
        var holder = HolderPid(lockFile);
        return new ModelSoupsException(
            $"another soup process{(holder is { } pid ? $" (pid {pid.ToString(CultureInfo.InvariantCulture)})" : "")} is writing here (lock {lockFile}); " +
            "wait for it to finish or stop it, then run again.", what);
    }

    /// <summary>The pid holding a flock on <paramref name="lockFile"/>, from <c>/proc/locks</c>, or null when unknown.</summary>
    internal static int? HolderPid(string lockFile)
    {
        if (Posix.Stat(lockFile) is not { } st) return null;
        string[] lines;
        try { lines = File.ReadAllLines("/proc/locks"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // "1: FLOCK  ADVISORY  WRITE 12345 fd:01:1234567 0 EOF" (device major:minor in hex, inode in decimal).
        var id = $"{st.Device >> 32:x2}:{st.Device & 0xffffffff:x2}:{st.Inode.ToString(CultureInfo.InvariantCulture)}";
        foreach (var line in lines)
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 6 && f[1] == "FLOCK" && f[5] == id && int.TryParse(f[4], CultureInfo.InvariantCulture, out int pid)) return pid;
        }
        return null;
    }

    /// <summary>Removes the lock file and releases the lock.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            // Delete while still holding the lock, so nobody locks a file that is about to vanish unseen
            // (Acquire re-checks the identity of the file it locked).
            if (Posix.Stat(_handle) is { } mine && Posix.Stat(LockFile, followLinks: false) is { } there && there.SameIdentity(mine))
                File.Delete(LockFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        Posix.Unlock(_handle);
        _handle.Dispose();
    }
}
