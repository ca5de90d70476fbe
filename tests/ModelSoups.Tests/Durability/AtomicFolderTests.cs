using ModelSoups.Durability;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Durability;

public sealed class AtomicFolderTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string[] Entries() => Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    // A stamp of a process that is gone: our pid with another start time (pids are reused, start times are not).
    static string DeadStamp() => new ProcessStamp(Environment.ProcessId, ProcessStamp.Current.StartTicks + 12345).ToString();

    [Fact]
    public void Commit_moves_the_folder_into_place_and_leaves_no_temporary_folder_or_lock()
    {
        var dest = _dir.File("out");
        using (var f = AtomicFolder.Create(dest))
        {
            Assert.StartsWith($".out.tmp-{ProcessStamp.Current}-", Path.GetFileName(f.TempPath));
            Assert.True(File.Exists(OutputLock.LockFileFor(dest)));
            f.WriteFile("a.txt", "new");
            f.Commit();
        }
        Assert.Equal(["out"], Entries());
        Assert.Equal("new", File.ReadAllText(Path.Combine(dest, "a.txt")));
    }

    [Fact]
    public void Dispose_without_commit_removes_the_temporary_folder_and_keeps_the_destination()
    {
        var dest = _dir.File("out");
        Directory.CreateDirectory(dest);
        File.WriteAllText(Path.Combine(dest, "old.txt"), "old");
        using (var f = AtomicFolder.Create(dest, overwrite: true)) f.WriteFile("a.txt", "new");
        Assert.Equal(["out"], Entries());
        Assert.Equal("old", File.ReadAllText(Path.Combine(dest, "old.txt")));
    }

    [Fact]
    public void Overwrite_swaps_in_one_step_and_leaves_only_the_new_output()
    {
        var dest = _dir.File("out");
        Directory.CreateDirectory(dest);
        File.WriteAllText(Path.Combine(dest, "old.txt"), "old");
        using (var f = AtomicFolder.Create(dest, overwrite: true))
        {
            f.WriteFile("new.txt", "new");
            f.Commit();
        }
        Assert.Equal(["out"], Entries());
        Assert.Equal(["new.txt"], Directory.GetFiles(dest).Select(Path.GetFileName));
    }

    [Fact]
    public void Rename_exchange_swaps_two_folders_atomically()
    {
        // The primitive the overwrite uses on Linux (tmpfs, ext4, xfs, btrfs all support RENAME_EXCHANGE).
        Directory.CreateDirectory(_dir.File("a"));
        Directory.CreateDirectory(_dir.File("b"));
        File.WriteAllText(_dir.File("a/x"), "in a");
        File.WriteAllText(_dir.File("b/y"), "in b");
        Assert.True(Posix.TryExchange(_dir.File("a"), _dir.File("b")));
        Assert.Equal("in a", File.ReadAllText(_dir.File("b/x")));
        Assert.Equal("in b", File.ReadAllText(_dir.File("a/y")));
    }

    [Fact]
    public void An_overwrite_interrupted_between_its_two_renames_is_repaired_by_the_next_run()
    {
        // The fallback path (no RENAME_EXCHANGE) killed after moving the old output aside: the destination is
        // absent and the old output sits in .out.old-…; the next run puts it back and says so.
        var dest = _dir.File("out");
        var aside = _dir.File($".out.old-{DeadStamp()}-0123abcd");
        Directory.CreateDirectory(aside);
        File.WriteAllText(Path.Combine(aside, "old.txt"), "old");
        using (var f = AtomicFolder.Create(dest, overwrite: true))
        {
            Assert.Contains(f.Notes, n => n.StartsWith($"restored {dest}", StringComparison.Ordinal));
            Assert.Equal("old", File.ReadAllText(Path.Combine(dest, "old.txt")));
        }
        Assert.Equal(["out"], Entries());
    }

    [Fact]
    public void Abandoned_temporary_folders_are_removed_and_reported_but_live_ones_are_kept()
    {
        var dead = _dir.File($".out.tmp-{DeadStamp()}-deadbeef");
        var live = _dir.File($".out.tmp-{ProcessStamp.Current}-0badf00d");
        var other = _dir.File($".other.tmp-{DeadStamp()}-deadbeef");
        foreach (var d in new[] { dead, live, other }) Directory.CreateDirectory(d);
        using (var f = AtomicFolder.Create(_dir.File("out")))
        {
            var note = Assert.Single(f.Notes);
            Assert.Equal($"removed {dead}, an unfinished temporary folder left by process {Environment.ProcessId}, which is gone.", note);
            f.Commit();
        }
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(live));
        Assert.True(Directory.Exists(other));   // belongs to another destination
    }

    static void Age(string folder, TimeSpan by)
    {
        var then = DateTime.UtcNow - by;
        foreach (var f in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)) File.SetLastWriteTimeUtc(f, then);
        Directory.SetLastWriteTimeUtc(folder, then);
    }

    [Fact]
    public void Unstamped_temporary_folders_of_older_versions_are_removed_once_abandoned_and_kept_while_in_use()
    {
        // Versions before owner stamps named them .NAME.tmp-GUID (32 hex digits) and took no lock.
        var abandoned = _dir.File($".out.tmp-{new string('a', 32)}");
        var recent = _dir.File($".out.tmp-{new string('b', 32)}");
        var open = _dir.File($".out.tmp-{new string('c', 32)}");
        foreach (var d in new[] { abandoned, recent, open })
        {
            Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(d, "model.safetensors"), "partial");
        }
        Age(abandoned, TimeSpan.FromHours(2));
        Age(open, TimeSpan.FromHours(2));
        using var held = File.OpenRead(Path.Combine(open, "model.safetensors"));   // a writer that is still running
        using (var f = AtomicFolder.Create(_dir.File("out")))
        {
            Assert.Equal(3, f.Notes.Count);
            Assert.Contains($"removed {abandoned}, an unfinished temporary folder of an older version, abandoned (nothing has it open, unchanged for over 1 hour).", f.Notes);
            Assert.Contains(f.Notes, n => n.StartsWith($"kept {recent}, an unfinished temporary folder of an older version: it changed 0 minute(s) ago", StringComparison.Ordinal));
            Assert.Contains(f.Notes, n => n.StartsWith($"kept {open}, an unfinished temporary folder of an older version: process {Environment.ProcessId} has a file in it open", StringComparison.Ordinal));
            f.Commit();
        }
        Assert.False(Directory.Exists(abandoned));
        Assert.True(Directory.Exists(recent));
        Assert.True(Directory.Exists(open));
    }

    [Fact]
    public void An_unstamped_previous_output_of_an_older_version_is_put_back_when_the_destination_is_missing()
    {
        // An older version's overwrite killed between its renames: the output only in .out.old-GUID.
        var aside = _dir.File($".out.old-{new string('d', 32)}");
        Directory.CreateDirectory(aside);
        File.WriteAllText(Path.Combine(aside, "old.txt"), "old");
        Age(aside, TimeSpan.FromHours(2));
        var dest = _dir.File("out");
        using (var f = AtomicFolder.Create(dest, overwrite: true))
        {
            Assert.Equal($"restored {dest} from {aside}, a previous output an older version's overwrite moved aside and never replaced.", Assert.Single(f.Notes));
            Assert.Equal("old", File.ReadAllText(Path.Combine(dest, "old.txt")));
        }
        Assert.Equal(["out"], Entries());
    }

    [Fact]
    public void A_second_writer_of_the_same_destination_is_refused_naming_the_holder()
    {
        var dest = _dir.File("out");
        using var first = AtomicFolder.Create(dest);
        var e = Assert.Throws<ModelSoupsException>(() => AtomicFolder.Create(dest));
        Assert.Contains($"another soup process (pid {Environment.ProcessId}) is writing here", e.Message);
        Assert.Equal(dest, e.Path);
    }

    [Fact]
    public void A_folder_that_is_not_ours_is_never_replaced()
    {
        var dest = _dir.File("thesis");
        Directory.CreateDirectory(Path.Combine(dest, "docs"));
        File.WriteAllText(Path.Combine(dest, "docs", "thesis.txt"), "four years");
        var e = Assert.Throws<ModelSoupsException>(() =>
            AtomicFolder.Create(dest, overwrite: true, ModelSoups.Checkpoints.CheckpointWriter.WhyNotReplaceable));
        Assert.Contains("refusing to overwrite: the folder holds no .safetensors weights", e.Message);
        Assert.Equal("four years", File.ReadAllText(Path.Combine(dest, "docs", "thesis.txt")));
        Assert.Equal(["thesis"], Entries());
    }

    [Fact]
    public void Empty_and_root_outputs_are_refused_with_a_sentence()
    {
        Assert.Contains("output path is empty", Assert.Throws<ModelSoupsException>(() => AtomicFolder.Create("")).Message);
        Assert.Contains("root folder", Assert.Throws<ModelSoupsException>(() => AtomicFolder.Create("/")).Message);
    }
}
