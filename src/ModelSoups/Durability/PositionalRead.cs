using Microsoft.Win32.SafeHandles;

namespace ModelSoups.Durability;

/// <summary>
/// Reads of an input file at an offset (<c>pread</c>), used instead of touching a memory mapping where the file
/// may shrink under us: a mapped page past a truncated end kills the process with SIGBUS, a positional read just
/// returns fewer bytes, which becomes a clean <see cref="EnvironmentFaultException"/> naming the file.
/// </summary>
internal static class PositionalRead
{
    /// <summary>
    /// Fills <paramref name="destination"/> from <paramref name="offset"/>; a file now shorter than that is "the input changed
    /// while being read" (<paramref name="openedLength"/> is its size when it was opened, for the message).
    /// </summary>
    public static void Exactly(SafeFileHandle handle, long offset, Span<byte> destination, string path, long openedLength)
    {
        while (destination.Length > 0)
        {
            int n;
            try { n = RandomAccess.Read(handle, destination, offset); }
            catch (IOException e) { throw new EnvironmentFaultException($"cannot read the input ({e.Message}); nothing was written.", path, e); }
            if (n <= 0)
            {
                long now = RandomAccess.GetLength(handle);
                throw new EnvironmentFaultException(
                    $"the input changed while being read (it was {openedLength:N0} bytes, now {now:N0}: cut short by another process); nothing was written. Rerun once no other process is writing it.", path);
            }
            destination = destination[n..];
            offset += n;
        }
    }
}
