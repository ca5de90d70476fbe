namespace ModelSoups.Execution.Slurm;

/// <summary>
/// Whether a folder is on a file system only its own node sees (<c>/tmp</c>, <c>/var/tmp</c>, <c>/dev/shm</c>,
/// <c>/run</c>, or any tmpfs/ramfs mount): Slurm tasks on other nodes would write their results where this
/// process never looks.
/// </summary>
public static class NodeLocalPath
{
    static readonly string[] LocalRoots = ["/tmp", "/var/tmp", "/dev/shm", "/run", "/local", "/scratch/local"];

    /// <summary>Why <paramref name="folder"/> is node-local, or null when it is not known to be.</summary>
    public static string? Why(string folder)
    {
        var full = Path.GetFullPath(folder);
        // The nearest existing ancestor, with symlinks resolved (/tmp may be a link, a folder may not exist yet).
        var probe = full;
        while (!Directory.Exists(probe) && Path.GetDirectoryName(probe) is { } parent) probe = parent;
        var real = Durability.Posix.RealPath(probe) ?? probe;
        var resolved = Path.Join(real, Path.GetRelativePath(probe, full) is "." ? "" : Path.GetRelativePath(probe, full));
        foreach (var root in LocalRoots)
            if (resolved == root || resolved.StartsWith(root + "/", StringComparison.Ordinal))
                return $"{root} is local to each node";
        if (FileSystemType(real) is { } type && type is "tmpfs" or "ramfs")
            return $"it is on a {type} (memory of this node)";
        return null;
    }

    /// <summary>The type of the mount holding <paramref name="path"/> (longest mount point prefix in /proc/self/mounts).</summary>
    static string? FileSystemType(string path)
    {
        try
        {
            string? best = null;
            int bestLength = -1;
            foreach (var line in File.ReadLines("/proc/self/mounts"))
            {
                var f = line.Split(' ');
                if (f.Length < 3) continue;
                var mount = f[1].Replace("\\040", " ", StringComparison.Ordinal);
                bool under = mount == "/" || path == mount || path.StartsWith(mount + "/", StringComparison.Ordinal);
                if (under && mount.Length > bestLength) { best = f[2]; bestLength = mount.Length; }
            }
            return best;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Refuses a node-local output folder for Slurm unless allowed.</summary>
    /// <exception cref="ModelSoupsException">It is node-local and <paramref name="allow"/> is false.</exception>
    public static void Check(string folder, bool allow)
    {
        if (allow) return;
        if (Why(folder) is { } why)
            throw new ModelSoupsException($"--executor slurm needs an output folder every node of the cluster sees, and this one is node-local ({why}): tasks on other nodes would write their results where soup never looks; use a shared folder (home, project or scratch file system), or --slurm-allow-local on a single-node cluster.", Path.GetFullPath(folder));
    }
}
