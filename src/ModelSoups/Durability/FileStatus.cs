namespace ModelSoups.Durability;

/// <summary>
/// What the kernel says about a path: its identity (device and inode: two paths with the same identity
/// are the same file or folder, whatever symlinks, hard links or bind mounts lead there), its type,
/// size and modification time.
/// </summary>
/// <param name="Device">Device number (major in the high 32 bits, minor in the low).</param>
/// <param name="Inode">Inode number on that device.</param>
/// <param name="Mode">st_mode: file type and permission bits.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="ModifiedNanoseconds">Last modification, nanoseconds since the Unix epoch.</param>
internal readonly record struct FileStatus(ulong Device, ulong Inode, ushort Mode, long Size, long ModifiedNanoseconds)
{
    const int TypeMask = 0xF000, Regular = 0x8000, Directory = 0x4000;

    /// <summary>A regular file (not a folder, FIFO, socket or device).</summary>
    public bool IsRegularFile => (Mode & TypeMask) == Regular;

    /// <summary>A folder.</summary>
    public bool IsDirectory => (Mode & TypeMask) == Directory;

    /// <summary>What the path is, for messages ("a FIFO", "a character device", …).</summary>
    public string TypeName => (Mode & TypeMask) switch
    {
        Regular => "a regular file",
        Directory => "a folder",
        0x1000 => "a FIFO (named pipe)",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0xC000 => "a socket",
        0xA000 => "a symbolic link",
        _ => "not a regular file",
    };

    /// <summary>True when both statuses are of the same file or folder.</summary>
    public bool SameIdentity(FileStatus other) => Device == other.Device && Inode == other.Inode;

    /// <summary>
    /// Throws <see cref="EnvironmentFaultException"/> when the input open as <paramref name="handle"/>, of which this is
    /// the status taken when it was opened, changed size or modification time since: another process is rewriting it.
    /// Reading a mapped page past a truncated end kills the process (SIGBUS), so readers check before touching a mapping
    /// and again after, and stop cleanly instead. Nothing is thrown when the kernel cannot say.
    /// </summary>
    public void RequireUnchanged(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        if (Posix.Stat(handle) is not { } now) return;
        if (now.Size != Size || now.ModifiedNanoseconds != ModifiedNanoseconds)
            throw new EnvironmentFaultException(
                $"the input changed while being read (it was {Size:N0} bytes, now {now.Size:N0}, and was modified again); nothing was written. Rerun once no other process is writing it.", path);
    }
}
