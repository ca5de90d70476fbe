namespace ModelSoups.Engine;

/// <summary>
/// Reads this process's resident memory from /proc/self/status (Linux). RssAnon is what the
/// memory budget bounds: file-backed pages of memory-mapped inputs are reclaimable page cache
/// and are counted in RssFile instead.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Current anonymous resident memory in bytes, or null where /proc is not available.</summary>
    public static long? RssAnonBytes() => ReadKiB("RssAnon:");

    /// <summary>Peak resident memory (anonymous + file) in bytes (VmHWM), or null.</summary>
    public static long? PeakRssBytes() => ReadKiB("VmHWM:");

    static long? ReadKiB(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    var parts = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
