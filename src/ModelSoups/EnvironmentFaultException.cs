namespace ModelSoups;

/// <summary>
/// A problem with the machine rather than the input (the device is full, an input changed while it was being
/// read): one sentence naming the file and what happened. The CLI prints it on one line and exits with code 1.
/// </summary>
public sealed class EnvironmentFaultException : ModelSoupsException
{
    public EnvironmentFaultException(string message, string? path = null, Exception? inner = null)
        : base(message, path, inner) { }

    /// <summary>True for the "no space left on device" family of I/O errors (ENOSPC, EDQUOT, Windows' disk-full codes).</summary>
    public static bool IsDiskFull(Exception e) =>
        e is IOException io && (io.HResult is 28 or 122 or 0x27 or 0x70 or unchecked((int)0x80070070) or unchecked((int)0x80070027)
            || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || io.Message.Contains("quota exceeded", StringComparison.OrdinalIgnoreCase));

    /// <summary>The disk-full error for writing <paramref name="file"/> of an output needing <paramref name="neededBytes"/>.</summary>
    public static EnvironmentFaultException DiskFull(string file, long neededBytes, Exception inner) =>
        new($"no space left on the device while writing this file; the output needs {ByteSize.Format(neededBytes)} ({neededBytes:N0} bytes). Nothing was published; free space or choose another output folder.", file, inner);
}
