namespace ModelSoups.Durability;

/// <summary>
/// Whether two folders are the same or one holds the other, decided by identity (device and inode of every
/// folder on the way to the root, after resolving symlinks), not by comparing spellings: a symlink, a bind
/// mount or <c>..</c> cannot make an input look like it is outside the output. Off Linux, the absolute
/// paths are compared.
/// </summary>
internal static class FolderOverlap
{
    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> are the same folder or one is inside the other.</summary>
    public static bool Overlaps(string a, string b)
    {
        var chainA = Chain(a, out var selfA);
        var chainB = Chain(b, out var selfB);
        if (chainA is null || chainB is null)
        {
            var sa = Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)) + "/";
            var sb = Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)) + "/";
            return sa.StartsWith(sb, StringComparison.Ordinal) || sb.StartsWith(sa, StringComparison.Ordinal);
        }
        return (selfA is { } ia && chainB.Any(s => s.SameIdentity(ia)))
            || (selfB is { } ib && chainA.Any(s => s.SameIdentity(ib)));
    }

    /// <summary>
    /// The statuses of <paramref name="path"/>'s real location and every folder above it; a path that does
    /// not exist yet contributes its nearest existing ancestor's chain (and <paramref name="self"/> is null).
    /// Null when identities are unavailable.
    /// </summary>
    static List<FileStatus>? Chain(string path, out FileStatus? self)
    {
        self = null;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string? existing = full;
        bool isSelf = true;
        while (existing is not null && Posix.Stat(existing) is null)
        {
            existing = Path.GetDirectoryName(existing);
            isSelf = false;
        }
        if (existing is null) return null;
        var real = Posix.RealPath(existing);
        if (real is null) return null;
        var chain = new List<FileStatus>();
        for (string? p = real; p is not null; p = Path.GetDirectoryName(p))
            if (Posix.Stat(p) is { } st) chain.Add(st);
        if (chain.Count == 0) return null;
        if (isSelf) self = chain[0];
        return chain;
    }
}
