using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ModelSoups.Durability;

/// <summary>
/// The few Linux system calls .NET does not expose and that crash safety needs: <c>statx</c> (device and
/// inode, to tell two paths to one folder apart from two folders; the file type, to refuse FIFOs before
/// opening them), <c>renameat2(RENAME_EXCHANGE)</c> (swap two folders in one atomic step), <c>flock</c>
/// and <c>fsync</c> of a directory. Every call degrades to "not available" off Linux or on an old libc,
/// and callers then fall back to the portable path.
/// </summary>
internal static unsafe partial class Posix
{
    const int AtFdCwd = -100;
    const int AtSymlinkNoFollow = 0x100;
    const uint StatxBasicStats = 0x7ff;
    const uint RenameExchange = 2;
    const int LockEx = 2, LockNb = 4, LockUn = 8;
    const int OReadOnly = 0, OCloExec = 0x80000;
    const int EIntr = 4, EWouldBlock = 11;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncNative(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseNative(int fd);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxFd(int dirfd, string emptyPath, int flags, uint mask, byte* buffer);

    const int AtEmptyPath = 0x1000;

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void FreeNative(IntPtr p);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    /// <summary>SIGKILL.</summary>
    public const int SigKill = 9;

    /// <summary>Sends <paramref name="signal"/> to every process of group <paramref name="processGroup"/>; false when none is left.</summary>
    public static bool KillGroup(int processGroup, int signal = SigKill)
    {
        if (!OperatingSystem.IsLinux() || processGroup <= 1) return false;
        return KillNative(-processGroup, signal) == 0;
    }

    static bool _noStatx, _noRenameAt2;

    /// <summary>The canonical path (every symlink resolved), or null when it does not exist or realpath is unavailable.</summary>
    public static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        IntPtr p;
        try { p = RealPathNative(path, IntPtr.Zero); }
        catch (EntryPointNotFoundException) { return null; }
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { FreeNative(p); }
    }

    /// <summary>The status of <paramref name="path"/> (following symlinks unless told not to), or null when it does not exist or statx is unavailable.</summary>
    public static FileStatus? Stat(string path, bool followLinks = true)
    {
        if (!OperatingSystem.IsLinux() || _noStatx) return null;
        // struct statx is the same on every Linux architecture (256 bytes, fixed offsets).
        byte* b = stackalloc byte[256];
        int rc;
        try { rc = StatxNative(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxBasicStats, b); }
        catch (EntryPointNotFoundException) { _noStatx = true; return null; }
        if (rc != 0) return null;
        return Decode(b);
    }

    /// <summary>The status of an open file, or null when statx is unavailable.</summary>
    public static FileStatus? Stat(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux() || _noStatx) return null;
        byte* b = stackalloc byte[256];
        int rc;
        try { rc = StatxFd((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxBasicStats, b); }
        catch (EntryPointNotFoundException) { _noStatx = true; return null; }
        return rc == 0 ? Decode(b) : null;
    }

    static FileStatus Decode(byte* b)
    {
        ushort mode = *(ushort*)(b + 28);
        ulong ino = *(ulong*)(b + 32);
        long size = *(long*)(b + 40);
        long mtimeSec = *(long*)(b + 112);
        uint mtimeNsec = *(uint*)(b + 120);
        uint devMajor = *(uint*)(b + 136), devMinor = *(uint*)(b + 140);
        return new FileStatus(((ulong)devMajor << 32) | devMinor, ino, mode, size, mtimeSec * 1_000_000_000 + mtimeNsec);
    }

    /// <summary>
    /// Atomically exchanges two existing paths. False when the system cannot (no renameat2, or a file
    /// system without RENAME_EXCHANGE); throws <see cref="IOException"/> for any other failure.
    /// </summary>
    public static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux() || _noRenameAt2) return false;
        int rc;
        try { rc = RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange); }
        catch (EntryPointNotFoundException) { _noRenameAt2 = true; return false; }
        if (rc == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        // EINVAL: the file system does not support the flag; ENOSYS: the kernel has no renameat2.
        if (errno is 22 or 38) return false;
        throw new IOException($"cannot exchange '{a}' and '{b}': {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    /// <summary>Takes an exclusive advisory lock without waiting; false when another open file description holds it.</summary>
    public static bool TryLockExclusive(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux()) return true;
        int fd = (int)handle.DangerousGetHandle();
        while (true)
        {
            if (FlockNative(fd, LockEx | LockNb) == 0) return true;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EIntr) continue;
            if (errno == EWouldBlock) return false;
            throw new IOException($"cannot lock: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading with open(2), taking no lock (a <see cref="FileStream"/> opened by path
    /// asks for a shared flock, which a writer's exclusive lock refuses). Off Linux, an ordinary shared open.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static SafeFileHandle OpenReadOnlyUnlocked(string path)
    {
        if (!OperatingSystem.IsLinux()) return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        int fd;
        do fd = OpenNative(path, OReadOnly | OCloExec);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (fd < 0) throw new IOException($"cannot open '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Releases a lock taken by <see cref="TryLockExclusive"/> (closing the handle releases it too).</summary>
    public static void Unlock(SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux() && !handle.IsClosed) FlockNative((int)handle.DangerousGetHandle(), LockUn);
    }

    /// <summary>
    /// Flushes a directory's entries to disk (after a file was created or renamed in it), so that a power
    /// cut cannot undo the rename. Best effort: file systems that refuse to fsync directories are ignored.
    /// </summary>
    public static void FsyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = OpenNative(path, OReadOnly | OCloExec);
        if (fd < 0) return;
        try { FsyncNative(fd); }
        finally { CloseNative(fd); }
    }
}
