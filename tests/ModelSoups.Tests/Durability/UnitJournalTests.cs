using ModelSoups.Durability;

namespace ModelSoups.Tests.Durability;

/// <summary><see cref="UnitJournal"/>: the one rule that decides whether a unit of work (a sweep's run) is finished.</summary>
public sealed class UnitJournalTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string JournalPath => Path.Combine(_dir.Path, "work", UnitJournal.FileName);

    static UnitFingerprint Fingerprint(string lr, string start = "s1") =>
        new([KeyValuePair.Create("start", start), KeyValuePair.Create("lr", lr)]);

    [Fact]
    public void The_digest_is_the_sha256_of_the_sorted_settings_and_changes_with_any_of_them()
    {
        // hashlib.sha256(b'{"lr":"0.01","start":"s1"}').hexdigest()[:32]: names sorted, whatever order they were given in.
        Assert.Equal("dc2174f0510f451bbc39009fb84350bc", Fingerprint("0.01").Digest);
        Assert.NotEqual(Fingerprint("0.01").Digest, Fingerprint("0.02").Digest);
        Assert.NotEqual(Fingerprint("0.01").Digest, Fingerprint("0.01", start: "s2").Digest);
        Assert.Equal("lr: 0.01 → 0.02; start: s1 → s2", Fingerprint("0.01").DifferenceFrom(Fingerprint("0.02", "s2")));
    }

    [Fact]
    public void A_unit_is_finished_only_when_its_result_carries_the_current_fingerprint_and_is_then_recorded_once()
    {
        var fp = Fingerprint("0.01");
        using (var j = UnitJournal.Open(JournalPath, "finetune"))
        {
            Assert.False(j.Decide("run-000", fp, resultDigest: null, "/out/run-000"));   // no result file: to be made
            Assert.Null(j.Recorded("run-000"));
            Assert.True(j.Decide("run-000", fp, fp.Digest, "/out/run-000"));             // e.g. a worker's result: recorded
            Assert.Equal(fp.Digest, j.Recorded("run-000")!.Digest);
        }
        using (var again = UnitJournal.Open(JournalPath, "finetune"))
        {
            Assert.Equal("0.01", again.Recorded("run-000")!.Settings["lr"]);
            Assert.True(again.Decide("run-000", fp, fp.Digest, "/out/run-000"));
        }
        Assert.Equal(2, File.ReadAllLines(JournalPath).Length);   // header + one entry: a reuse appends nothing
    }

    [Fact]
    public void A_result_made_with_other_settings_is_refused_naming_what_changed()
    {
        using var j = UnitJournal.Open(JournalPath, "finetune");
        j.Record("run-001", Fingerprint("0.01"));
        var e = Assert.Throws<ModelSoupsException>(() => j.Decide("run-001", Fingerprint("0.02"), Fingerprint("0.01").Digest, "/out/run-001"));
        Assert.Equal("/out/run-001", e.Path);
        Assert.Contains("this run was made with other settings (lr: 0.01 → 0.02); use another output folder", e.Message);
        // A result whose settings the journal never saw (another sweep's folder copied in): refused too, without details.
        var unknown = Assert.Throws<ModelSoupsException>(() => j.Decide("run-002", Fingerprint("0.02"), Fingerprint("0.5").Digest, "/out/run-002"));
        Assert.Contains("made with other settings;", unknown.Message);
        Assert.Null(j.Recorded("run-002"));
    }

    [Fact]
    public void A_unit_made_again_after_its_result_was_removed_is_recorded_again()
    {
        using (var j = UnitJournal.Open(JournalPath, "finetune"))
        {
            j.Record("run-000", Fingerprint("0.01"));
            Assert.False(j.Decide("run-000", Fingerprint("0.02"), null, "/out/run-000"));   // its folder was deleted: made again
            j.Record("run-000", Fingerprint("0.02"));
        }
        using (var j = UnitJournal.Open(JournalPath, "finetune")) j.Record("seed:1/run-000", Fingerprint("0.03"));   // a name with ':' reads back
        using var reopened = UnitJournal.Open(JournalPath, "finetune");
        Assert.Equal("0.02", reopened.Recorded("run-000")!.Settings["lr"]);
        Assert.Equal("0.03", reopened.Recorded("seed:1/run-000")!.Settings["lr"]);
        Assert.Equal(new[] { "run-000", "seed:1/run-000" }, reopened.Units());
    }

    [Fact]
    public void A_corrupted_line_is_reported_naming_the_journal_and_the_line_by_writer_and_reader()
    {
        using (var j = UnitJournal.Open(JournalPath, "finetune"))
        {
            j.Record("run-000", Fingerprint("0.01"));
            j.Record("run-001", Fingerprint("0.02"));
        }
        var lines = File.ReadAllLines(JournalPath);
        lines[1] = lines[1].Replace("0.01", "0.07", StringComparison.Ordinal);
        File.WriteAllLines(JournalPath, lines);
        foreach (var open in new Func<UnitJournal>[] { () => UnitJournal.Open(JournalPath, "finetune"), () => UnitJournal.OpenReadOnly(JournalPath) })
        {
            var e = Assert.Throws<ModelSoupsException>(open);
            Assert.Equal(JournalPath, e.Path);
            Assert.Contains("corrupt at line 2 (checksum mismatch", e.Message);
        }
    }

    [Fact]
    public void Another_kind_of_command_is_refused()
    {
        UnitJournal.Open(JournalPath, "finetune").Dispose();
        var e = Assert.Throws<ModelSoupsException>(() => UnitJournal.Open(JournalPath, "text-demo-ingredients"));
        Assert.Contains("journal from a different command", e.Message);
    }

    [Fact]
    public void The_read_only_reader_sees_the_recorded_units_while_the_command_holds_the_journal()
    {
        using var writer = UnitJournal.Open(JournalPath, "finetune");
        writer.Record("run-000", Fingerprint("0.01"));
        Assert.Contains("in use", Assert.Throws<ModelSoupsException>(() => UnitJournal.Open(JournalPath, "finetune")).Message);
        using (var reader = UnitJournal.OpenReadOnly(JournalPath))
            Assert.Equal(Fingerprint("0.01").Digest, reader.Recorded("run-000")!.Digest);
        writer.Record("run-001", Fingerprint("0.02"));
        using var later = UnitJournal.OpenReadOnly(JournalPath);
        Assert.Equal(new[] { "run-000", "run-001" }, later.Units());
        Assert.Throws<InvalidOperationException>(() => later.Record("run-002", Fingerprint("0.03")));
    }
}
