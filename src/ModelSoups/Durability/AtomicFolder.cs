using System.Security.Cryptography;

namespace ModelSoups.Durability;

/// <summary>
/// The one way every output folder is written: filled in a temporary folder beside the destination and
/// moved into place by <see cref="Commit"/> only when complete, so the destination is either absent,
/// the old output, or the complete new one — never half of one.
/// <list type="bullet">
/// <item>The destination is locked (<see cref="OutputLock"/>) from <see cref="Create"/> to <see cref="Dispose"/>:
/// a second run writing the same output stops at once and names the holder.</item>
/// <item>Temporary folders are named <c>.NAME.tmp-PID-START-ID</c> after their owner (<see cref="ProcessStamp"/>),
/// so a later run recognises the ones a killed run abandoned and removes them (and says so). Unstamped
/// <c>.NAME.tmp-GUID</c> folders of older versions are removed once nothing has them open and they are an hour
/// old (<see cref="LegacyTempFolder"/>), and kept with a note before that.</item>
/// <item>Replacing an existing output is one atomic <c>renameat2(RENAME_EXCHANGE)</c> where the file system has it;
/// elsewhere the old output is first renamed to <c>.NAME.old-PID-START-ID</c>, and a run interrupted between the two
/// renames is repaired by the next one (the old output is put back when the new one never arrived).</item>
/// <item>Files are fsynced by their writers (<see cref="WriteFile(string, ReadOnlySpan{byte})"/> does it); the folder and its
/// parent are fsynced around the rename, so after <see cref="Commit"/> returns a power cut cannot undo it.</item>
/// </list>
/// </summary>
public sealed class AtomicFolder : IDisposable
{
    const string TempKind = "tmp", OldKind = "old";

    readonly OutputLock _lock;
    readonly Func<string, string?>? _whyNotReplaceable;
    readonly bool _overwrite;
    readonly List<string> _notes = [];
    bool _committed, _disposed;

    /// <summary>The destination folder (absolute).</summary>
    public string Destination { get; }

    /// <summary>The temporary folder being filled.</summary>
    public string TempPath { get; }

    /// <summary>What was repaired or cleaned up before this run started (abandoned temporary folders, an interrupted overwrite).</summary>
    public IReadOnlyList<string> Notes => _notes;

    AtomicFolder(string destination, string temp, OutputLock outputLock, bool overwrite, Func<string, string?>? whyNotReplaceable)
    {
        Destination = destination;
        TempPath = temp;
        _lock = outputLock;
        _overwrite = overwrite;
        _whyNotReplaceable = whyNotReplaceable;
    }

    /// <summary>
    /// Locks <paramref name="destination"/>, cleans up what earlier killed runs left beside it, checks that it may be
    /// written, and creates the temporary folder.
    /// </summary>
    /// <param name="destination">The folder to produce.</param>
    /// <param name="overwrite">Whether a non-empty destination may be replaced.</param>
    /// <param name="whyNotReplaceable">With <paramref name="overwrite"/>: given the existing destination, why it must not be
    /// replaced (e.g. it is not one of our outputs), or null when it may be.</param>
    /// <exception cref="ModelSoupsException">The destination is a file, is not empty (without overwrite), may not be replaced, or is locked.</exception>
    public static AtomicFolder Create(string destination, bool overwrite = false, Func<string, string?>? whyNotReplaceable = null)
    {
        var dest = FullPath(destination);
        var outputLock = OutputLock.Acquire(dest);
        try
        {
            var notes = Recover(dest);
            CheckDestination(dest, overwrite, whyNotReplaceable);
            var temp = SiblingPath(dest, TempKind);
            Directory.CreateDirectory(temp);
            var folder = new AtomicFolder(dest, temp, outputLock, overwrite, whyNotReplaceable);
            folder._notes.AddRange(notes);
            return folder;
        }
        catch
        {
            outputLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Moves an already complete folder (e.g. staged in a work folder) into place as <paramref name="destination"/>,
    /// which must be absent or empty; the same lock, clean-up and fsyncs as <see cref="Commit"/>.
    /// </summary>
    public static IReadOnlyList<string> Publish(string completeFolder, string destination)
    {
        var dest = FullPath(destination);
        using var outputLock = OutputLock.Acquire(dest);
        var notes = Recover(dest);
        CheckDestination(dest, overwrite: false, null);
        FsyncTree(completeFolder);
        MoveInto(FullPath(completeFolder), dest, overwrite: false);
        return notes;
    }

    static string FullPath(string destination)
    {
        if (string.IsNullOrWhiteSpace(destination)) throw new ModelSoupsException("the output path is empty; give a folder.");
        var dest = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination));
        if (Path.GetDirectoryName(dest) is null) throw new ModelSoupsException("the output cannot be the root folder.", dest);
        return dest;
    }

    static void CheckDestination(string dest, bool overwrite, Func<string, string?>? whyNotReplaceable)
    {
        if (File.Exists(dest)) throw new ModelSoupsException("the output path is a file, not a folder.", dest);
        if (!IsNonEmptyFolder(dest)) return;
        if (!overwrite)
            throw new ModelSoupsException("the output folder already exists and is not empty; choose another or allow overwriting.", dest);
        if (whyNotReplaceable?.Invoke(dest) is { } why)
            throw new ModelSoupsException($"refusing to overwrite: {why} Remove it yourself or choose another output folder.", dest);
    }

    /// <summary>Writes a small file into the folder and fsyncs it.</summary>
    public void WriteFile(string fileName, ReadOnlySpan<byte> content)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        AtomicFile.WriteDurably(Path.Combine(TempPath, fileName), content);
    }

    /// <summary>Writes a small UTF-8 text file into the folder and fsyncs it.</summary>
    public void WriteFile(string fileName, string text) => WriteFile(fileName, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Moves the temporary folder into place. A non-empty destination is replaced only when allowed at
    /// <see cref="Create"/> (checked again here: it may have changed while the folder was being filled).
    /// </summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("the folder is already committed.");
        CheckDestination(Destination, _overwrite, _whyNotReplaceable);
        Posix.FsyncDirectory(TempPath);
        MoveInto(TempPath, Destination, _overwrite);
        _committed = true;
    }

    static void MoveInto(string source, string dest, bool overwrite)
    {
        string parent = Path.GetDirectoryName(dest)!;
        if (!Directory.Exists(dest))
        {
            Directory.Move(source, dest);
        }
        else if (!IsNonEmptyFolder(dest))
        {
            Directory.Delete(dest);
            Directory.Move(source, dest);
        }
        else
        {
            if (!overwrite) throw new InvalidOperationException("a non-empty destination reached MoveInto without overwrite.");
            if (Posix.TryExchange(source, dest))
            {
                // One step: `dest` is the new output, `source` now holds the old one.
                Posix.FsyncDirectory(parent);
                DeleteTree(source);
                return;
            }
            // Two steps, each recoverable: a run killed between them leaves the old output in .NAME.old-…,
            // which the next run's Recover puts back (the new output was still in its temporary folder).
            var aside = SiblingPath(dest, OldKind);
            Directory.Move(dest, aside);
            try { Directory.Move(source, dest); }
            catch
            {
                Directory.Move(aside, dest);
                throw;
            }
            Posix.FsyncDirectory(parent);
            DeleteTree(aside);
        }
        Posix.FsyncDirectory(parent);
    }

    /// <summary>
    /// Repairs what killed runs left beside <paramref name="destination"/> (the caller holds its lock):
    /// removes temporary folders whose owner is gone, and the previous output an interrupted overwrite
    /// moved aside — putting it back when the destination never arrived. Returns one note per action.
    /// </summary>
    internal static List<string> Recover(string destination)
    {
        var notes = new List<string>();
        string parent = Path.GetDirectoryName(destination)!;
        if (!Directory.Exists(parent)) return notes;
        string name = Path.GetFileName(destination);
        foreach (var path in Directory.EnumerateDirectories(parent, $".{name}.*").Order(StringComparer.Ordinal).ToList())
        {
            if (LegacyKind(Path.GetFileName(path), name) is { } legacy)
            {
                RecoverLegacy(path, legacy, destination, notes);
                continue;
            }
            if (!TryParseSibling(Path.GetFileName(path), name, out var kind, out var owner) || owner.IsAlive) continue;
            if (kind == OldKind && !IsNonEmptyFolder(destination))
            {
                if (Directory.Exists(destination)) Directory.Delete(destination);
                Directory.Move(path, destination);
                Posix.FsyncDirectory(parent);
                notes.Add($"restored {destination} from {path}, where an overwrite interrupted in process {owner.Pid} had moved it.");
            }
            else
            {
                DeleteTree(path);
                notes.Add(kind == OldKind
                    ? $"removed {path}, the previous output an overwrite interrupted in process {owner.Pid} left behind."
                    : $"removed {path}, an unfinished temporary folder left by process {owner.Pid}, which is gone.");
            }
        }
        return notes;
    }

    static string? LegacyKind(string fileName, string name) =>
        LegacyTempFolder.Matches(fileName, name, TempKind) ? TempKind : LegacyTempFolder.Matches(fileName, name, OldKind) ? OldKind : null;

    /// <summary>
    /// A <c>.NAME.tmp-GUID</c> or <c>.NAME.old-GUID</c> folder of a version before owner stamps: removed (or, for an
    /// old output whose destination is missing, put back) once nothing uses it; otherwise kept, and the note says why.
    /// </summary>
    static void RecoverLegacy(string path, string kind, string destination, List<string> notes)
    {
        string what = kind == OldKind ? "a previous output an older version's overwrite moved aside" : "an unfinished temporary folder of an older version";
        if (LegacyTempFolder.WhyInUse(path, DateTime.UtcNow) is { } why)
        {
            notes.Add($"kept {path}, {what}: {why}; remove it yourself once no merge is writing {destination}.");
            return;
        }
        if (kind == OldKind && !IsNonEmptyFolder(destination))
        {
            if (Directory.Exists(destination)) Directory.Delete(destination);
            Directory.Move(path, destination);
            Posix.FsyncDirectory(Path.GetDirectoryName(destination)!);
            notes.Add($"restored {destination} from {path}, {what} and never replaced.");
            return;
        }
        DeleteTree(path);
        notes.Add($"removed {path}, {what}, abandoned (nothing has it open, unchanged for over {LegacyTempFolder.QuietPeriod.TotalHours:0} hour).");
    }

    /// <summary>A fresh sibling name owned by this process: <c>.NAME.KIND-PID-START-ID</c>.</summary>
    internal static string SiblingPath(string destination, string kind) =>
        Path.Combine(Path.GetDirectoryName(destination)!,
            $".{Path.GetFileName(destination)}.{kind}-{ProcessStamp.Current}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    static bool TryParseSibling(string fileName, string name, out string kind, out ProcessStamp owner)
    {
        kind = "";
        owner = default;
        foreach (var k in new[] { TempKind, OldKind })
        {
            var prefix = $".{name}.{k}-";
            if (!fileName.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var rest = fileName[prefix.Length..];
            int lastDash = rest.LastIndexOf('-');
            if (lastDash < 0 || rest.Length - lastDash - 1 != 8) return false;
            if (!ProcessStamp.TryParse(rest[..lastDash], out owner)) return false;
            kind = k;
            return true;
        }
        return false;
    }

    internal static bool IsNonEmptyFolder(string path) => Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any();

    static void DeleteTree(string path)
    {
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
    }

    /// <summary>fsyncs every file of a folder that someone else filled, and the folder itself.</summary>
    static void FsyncTree(string folder)
    {
        foreach (var f in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            using var h = File.OpenHandle(f, FileMode.Open, FileAccess.ReadWrite);
            AtomicFile.FsyncAndClose(h);
        }
        foreach (var d in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories)) Posix.FsyncDirectory(d);
        Posix.FsyncDirectory(folder);
    }

    /// <summary>Without a successful <see cref="Commit"/>, deletes the temporary folder; releases the lock.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_committed) DeleteTree(TempPath);
        }
        finally
        {
            _lock.Dispose();
        }
    }
}
