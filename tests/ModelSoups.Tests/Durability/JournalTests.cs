using System.Text;
using System.Text.Json.Nodes;
using ModelSoups.Durability;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Durability;

public sealed class JournalTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string JournalPath => Path.Combine(_dir.Path, GreedyJournal.FileName);

    static JournalFingerprint Fingerprint() => JournalFingerprint.ForGreedy(
        [IngredientStamp.FromText("m0", "a"), IngredientStamp.FromText("m1", "b")], "table v1", AcceptRule.GreaterOrEqual);

    /// <summary>A journal with the header and two evaluations, closed.</summary>
    string[] WriteTwo()
    {
        using (var j = GreedyJournal.Open(_dir.Path, Fingerprint()))
        {
            j.Add(GreedySoup.IngredientKey(0).ToString(), EvaluationResult.FromScore(0.5));
            j.Add(GreedySoup.IngredientKey(1).ToString(), EvaluationResult.FromScore(0.7));
        }
        return File.ReadAllLines(JournalPath);
    }

    /// <summary>A line as the journal writes it: JSON plus the CRC-32 of that JSON, so only the content is wrong.</summary>
    static string Checksummed(string json)
    {
        uint crc = Crc32.Compute(Encoding.UTF8.GetBytes(json));
        return json[..^1] + $",\"crc32\":\"{crc:x8}\"}}";
    }

    ModelSoupsException Refused() => Assert.Throws<ModelSoupsException>(() => GreedyJournal.Open(_dir.Path, Fingerprint()));

    [Fact]
    public void OpenOrReplace_sets_aside_a_journal_of_other_work_and_replays_its_own()
    {
        var path = _dir.File("cache.jsonl");
        static string? Any(string key, JsonObject value) => value["x"] is JsonValue ? null : "no x";
        using (var j = Journal.OpenOrReplace(path, new JsonObject { ["settings"] = "a" }, Any, out var discarded))
        {
            Assert.False(discarded);   // nothing there yet
            j.Append("k", new JsonObject { ["x"] = 1 });
        }
        using (var same = Journal.OpenOrReplace(path, new JsonObject { ["settings"] = "a" }, Any, out var discarded))
        {
            Assert.False(discarded);
            Assert.Equal(1, (int)same.Entries["k"]["x"]!);
        }
        using (var other = Journal.OpenOrReplace(path, new JsonObject { ["settings"] = "b" }, Any, out var discarded))
        {
            Assert.True(discarded);
            Assert.Empty(other.Entries);
            Assert.True(File.Exists(path + ".discarded"));
        }
        // Held by another open journal: not set aside, refused.
        using var held = Journal.Open(path, new JsonObject { ["settings"] = "b" }, Any);
        var e = Assert.Throws<ModelSoupsException>(() => Journal.OpenOrReplace(path, new JsonObject { ["settings"] = "c" }, Any, out _));
        Assert.Contains("in use", e.Message);
    }

    [Fact]
    public void Crc32_matches_the_standard_check_value()
    {
        // The CRC-32/ISO-HDLC check value of "123456789" (zlib.crc32(b"123456789") == 0xCBF43926).
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    [Fact]
    public void Every_line_carries_the_crc_of_its_json()
    {
        var lines = WriteTwo();
        Assert.Equal(3, lines.Length);
        foreach (var line in lines)
        {
            int at = line.LastIndexOf(",\"crc32\":\"", StringComparison.Ordinal);
            var body = line[..at] + "}";
            Assert.Equal($"{Crc32.Compute(Encoding.UTF8.GetBytes(body)):x8}", line[(at + 10)..^2]);
        }
    }

    [Fact]
    public void An_edited_line_is_detected_by_its_checksum_and_named()
    {
        var lines = WriteTwo();
        lines[1] = lines[1].Replace("0.5", "0.9", StringComparison.Ordinal);
        File.WriteAllLines(JournalPath, lines);
        var e = Refused();
        Assert.Contains("corrupt at line 2 (checksum mismatch", e.Message);
    }

    [Fact]
    public void A_last_line_cut_short_by_a_crash_is_dropped_with_a_note_and_cut_off()
    {
        var lines = WriteTwo();
        File.WriteAllText(JournalPath, lines[0] + "\n" + lines[1] + "\n" + lines[2][..20]);
        using var j = GreedyJournal.Open(_dir.Path, Fingerprint());
        Assert.Equal(1, j.ReplayableCount);
        Assert.Contains("dropped line 3 of the journal (cut short)", Assert.Single(j.Notes));
        j.Dispose();
        Assert.Equal(2, File.ReadAllLines(JournalPath).Length);
    }

    [Theory]
    [InlineData("""{"key":"ingredient:1","value":{"score":1e400}}""", "the score is missing or not a finite number")]
    [InlineData("""{"key":"ingredient:1","value":{"score":0.1,"score":0.9}}""", "a property appears twice")]
    [InlineData("""{"key":"ingredient:7","value":{"score":0.1}}""", "does not name ingredients 0..1")]
    [InlineData("""{"key":"soup:1,0","value":{"score":0.1}}""", "in increasing order")]
    [InlineData("""{"key":"bogus:1","value":{"score":0.1}}""", "unknown kind of key")]
    [InlineData("""{"key":"ingredient:0","value":{"score":0.1}}""", "key 'ingredient:0' was already recorded at line 2")]
    [InlineData("""{"key":"ingredient:1","value":{"score":0.1,"metrics":{"m":"x"}}}""", "metric 'm' is not a finite number")]
    public void Checksummed_lines_with_invalid_content_are_refused_naming_the_line(string json, string expected)
    {
        var lines = WriteTwo();
        // Put the bad line in the middle, so it cannot pass for a crash's cut-short last write.
        File.WriteAllLines(JournalPath, [lines[0], lines[1], Checksummed(json), lines[2]]);
        var e = Refused();
        Assert.Contains("corrupt at line 3", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_huge_sparse_journal_opens_in_constant_memory_without_overflow()
    {
        // 3 GiB of zeros (sparse): no newline, so it is one cut-short line and is dropped.
        using (var fs = new FileStream(JournalPath, FileMode.CreateNew)) fs.SetLength(3L << 30);
        using var j = GreedyJournal.Open(_dir.Path, Fingerprint());
        Assert.Equal(0, j.ReplayableCount);
        Assert.Contains("longer than", Assert.Single(j.Notes));
    }

    [Fact]
    public void A_journal_path_that_is_a_folder_or_a_device_is_refused_by_name()
    {
        Directory.CreateDirectory(JournalPath);
        Assert.Contains("the journal path is a folder, not a file", Refused().Message);
        Directory.Delete(JournalPath);
        File.CreateSymbolicLink(JournalPath, "/dev/null");
        Assert.Contains("the journal path is a character device, not a regular file", Refused().Message);
    }

    [Fact]
    public void A_journal_held_open_by_another_run_is_refused_naming_the_process()
    {
        using var first = GreedyJournal.Open(_dir.Path, Fingerprint());
        var e = Refused();
        Assert.Contains($"in use by another soup process (pid {Environment.ProcessId})", e.Message);
    }

    [Fact]
    public void The_generic_journal_replays_values_and_refuses_a_second_record_of_a_key()
    {
        var fp = new JsonObject { ["kind"] = "test" };
        var path = _dir.File("j.jsonl");
        using (var j = Journal.Open(path, fp, (_, _) => null))
        {
            j.Append("a", new JsonObject { ["n"] = 1 });
            Assert.Throws<InvalidOperationException>(() => j.Append("a", new JsonObject { ["n"] = 2 }));
        }
        using var again = Journal.Open(path, fp, (_, _) => null);
        Assert.True(again.TryGet("a", out var v));
        Assert.Equal(1, (int)v["n"]!);
        again.Dispose();
        var e = Assert.Throws<ModelSoupsException>(() => Journal.Open(path, new JsonObject { ["kind"] = "other" }, (_, _) => null));
        Assert.Contains("journal from a different command: the fingerprint differs", e.Message);
    }
    [Fact]
    public void A_read_only_reader_reads_every_complete_line_while_a_writer_holds_the_journal()
    {
        var fp = new JsonObject { ["kind"] = "test" };
        var path = _dir.File("held.jsonl");
        using var writer = Journal.Open(path, fp, (_, _) => null);
        writer.Append("a", new JsonObject { ["n"] = 1 });
        // The writer's exclusive lock refuses a second ordinary open (that is what soup status ran into) ...
        Assert.Contains("in use", Assert.Throws<ModelSoupsException>(() => Journal.Open(path, fp, (_, _) => null)).Message);
        // ... but not the reader, which sees what was appended so far and cannot append itself.
        using (var reader = Journal.OpenReadOnly(path, (_, _) => null))
        {
            Assert.True(reader.IsReadOnly);
            Assert.Equal(1, (int)Assert.Single(reader.Entries).Value["n"]!);
            Assert.Throws<InvalidOperationException>(() => reader.Append("b", new JsonObject()));
        }
        writer.Append("b", new JsonObject { ["n"] = 2 });
        using var later = Journal.OpenReadOnly(path, (_, _) => null);
        Assert.Equal(new[] { "a", "b" }, later.Entries.Keys.Order(StringComparer.Ordinal));
        Assert.False(writer.IsReadOnly);
    }

    [Fact]
    public void A_read_only_reader_leaves_out_a_torn_last_line_without_changing_the_file_and_still_names_a_bad_line_before_it()
    {
        var lines = WriteTwo();
        var torn = lines[0] + "\n" + lines[1] + "\n" + lines[2][..20];   // the writer is in the middle of line 3
        File.WriteAllText(JournalPath, torn);
        using (var reader = Journal.OpenReadOnly(JournalPath, (_, _) => null))
        {
            Assert.Equal(GreedySoup.IngredientKey(0).ToString(), Assert.Single(reader.Entries).Key);
            Assert.Contains("dropped line 3 of the journal (cut short)", Assert.Single(reader.Notes));
        }
        Assert.Equal(torn, File.ReadAllText(JournalPath));   // a reader never cuts the file: the writer owns it
        lines[1] = lines[1].Replace("0.5", "0.9", StringComparison.Ordinal);
        File.WriteAllLines(JournalPath, lines);
        var e = Assert.Throws<ModelSoupsException>(() => Journal.OpenReadOnly(JournalPath, (_, _) => null));
        Assert.Contains("corrupt at line 2 (checksum mismatch", e.Message);
        Assert.Contains("does not exist", Assert.Throws<ModelSoupsException>(() => Journal.OpenReadOnly(_dir.File("none.jsonl"), (_, _) => null)).Message);
    }
}
