using System.Text.RegularExpressions;

namespace ModelSoups.Durability;

/// <summary>
/// Temporary folders of versions before owner stamps: <c>.NAME.tmp-GUID</c> (an unfinished output) and
/// <c>.NAME.old-GUID</c> (the previous output an overwrite moved aside), GUID as 32 hex digits. Their names do
/// not say who made them, so "abandoned" is decided from the outside: no process of ours has anything open in
/// them (a writer keeps its shards open while it fills them) and nothing in them changed for
/// <see cref="QuietPeriod"/> (older versions took no lock, so one may still be running).
/// </summary>
internal static partial class LegacyTempFolder
{
    /// <summary>How long a legacy folder must have been untouched before it counts as abandoned.</summary>
    internal static readonly TimeSpan QuietPeriod = TimeSpan.FromHours(1);

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex Guid32();

    /// <summary>True when <paramref name="fileName"/> is <c>.NAME.KIND-GUID</c> for this destination name and kind.</summary>
    public static bool Matches(string fileName, string name, string kind)
    {
        var prefix = $".{name}.{kind}-";
        return fileName.StartsWith(prefix, StringComparison.Ordinal) && Guid32().IsMatch(fileName[prefix.Length..]);
    }

    /// <summary>Why <paramref name="folder"/> may still be in use (a sentence fragment), or null when it is abandoned.</summary>
    public static string? WhyInUse(string folder, DateTime nowUtc)
    {
        var newest = NewestChange(folder);
        if (nowUtc - newest < QuietPeriod)
            return $"it changed {(nowUtc - newest).TotalMinutes:0} minute(s) ago and an older version of soup may still be writing it";
        if (OpenedByAProcess(folder) is int pid)
            return $"process {pid} has a file in it open";
        return null;
    }

    static DateTime NewestChange(string folder)
    {
        var newest = Directory.GetLastWriteTimeUtc(folder);
        try
        {
            foreach (var f in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
            {
                var t = File.GetLastWriteTimeUtc(f);
                if (t > newest) newest = t;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return DateTime.MaxValue; }   // cannot tell: in use
        return newest;
    }

    /// <summary>A process (that we may look at) holding a file descriptor or its working folder inside <paramref name="folder"/>.</summary>
    static int? OpenedByAProcess(string folder)
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc")) return null;
        var inside = Path.TrimEndingDirectorySeparator(folder) + "/";
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out int pid)) continue;
            try
            {
                var links = Directory.EnumerateFileSystemEntries(Path.Combine(proc, "fd")).Append(Path.Combine(proc, "cwd"));
                foreach (var link in links)
                {
                    var target = new FileInfo(link).LinkTarget;
                    if (target is not null && (target == folder || target.StartsWith(inside, StringComparison.Ordinal))) return pid;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // gone meanwhile, or another user's
        }
        return null;
    }
}
