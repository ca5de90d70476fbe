using System.Globalization;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// The spam task as the text demo sees it: label 1 = spam, 0 = ham; every email is a row of token ids, carried as a
/// float "image" [1 × 1 × T] (ids below 2²⁴ are exact in float32; <see cref="Models.ModelSpec.Prepare"/> turns them back).
/// In distribution (the early "-1" groups): a training pool, a held-out set (soups and every setting are chosen on it;
/// never trained on) and a test set, disjoint. Shift: the later "-2" groups.
/// </summary>
/// <param name="Train">Training emails (the first <c>trainCount</c> of the training pool's order).</param>
/// <param name="HeldOut">Held-out emails.</param>
/// <param name="Test">In-distribution test emails.</param>
/// <param name="Shift">Later-collected emails (the time shift).</param>
/// <param name="Description">Sizes, token count and split seed, for caches and reports.</param>
public sealed record TextSplits(ImageDataset Train, ImageDataset HeldOut, ImageDataset Test, ImageDataset Shift, string Description)
{
    /// <summary>Class names by label.</summary>
    public static readonly IReadOnlyList<string> ClassNames = ["ham", "spam"];

    /// <summary>
    /// Splits <paramref name="emails"/>. Each of the two pools is put in a seeded order that interleaves its groups evenly
    /// (item r of a group of n sorts at (r + u)/n, r its random rank, u one uniform offset per group), so every prefix is
    /// stratified by group: held-out = the first <paramref name="heldOut"/> early emails, test = the next
    /// <paramref name="test"/>, training pool = the rest, of which the first <paramref name="train"/> (null: all) are used;
    /// shift = the first <paramref name="shift"/> late emails (null: all). Texts are tokenised to <paramref name="tokens"/> ids.
    /// </summary>
    public static TextSplits Create(IReadOnlyList<Email> emails, WordPieceTokenizer tokenizer, int tokens, int? train, int heldOut, int test,
        int? shift, ulong seed = 0)
    {
        var early = Interleave(emails.Where(e => SpamAssassinCorpus.EarlyGroups.Contains(e.Group)).ToList(), seed);
        var late = Interleave(emails.Where(e => SpamAssassinCorpus.LateGroups.Contains(e.Group)).ToList(), seed ^ 0x9E3779B97F4A7C15UL);
        if (heldOut < 1 || test < 1 || train is < 1 || shift is < 1) throw new ModelSoupsException("split sizes must be at least 1");
        if (heldOut + test + (train ?? 1) > early.Count)
            throw new ModelSoupsException($"the early groups have {early.Count} emails, fewer than held-out {heldOut} + test {test} + training {train ?? 1}");
        var pool = early.Skip(heldOut + test).ToList();
        var trainSet = train is { } n ? pool.Take(n).ToList() : pool;
        var shiftSet = shift is { } s ? late.Take(s).ToList() : late;
        string Source(string part) => $"SpamAssassin {part}";
        return new TextSplits(
            Tokenise(trainSet, tokenizer, tokens, Source("train")),
            Tokenise(early.Take(heldOut).ToList(), tokenizer, tokens, Source("held-out")),
            Tokenise(early.Skip(heldOut).Take(test).ToList(), tokenizer, tokens, Source("test")),
            Tokenise(shiftSet, tokenizer, tokens, Source("shift")),
            string.Create(CultureInfo.InvariantCulture,
                $"SpamAssassin {SpamAssassinCorpus.Version}: train {trainSet.Count} of {pool.Count}, held-out {heldOut}, test {test} from {string.Join("+", SpamAssassinCorpus.EarlyGroups)}; shift {shiftSet.Count} from {string.Join("+", SpamAssassinCorpus.LateGroups)}; {tokens} tokens; split seed {seed}"));
    }

    /// <summary>The seeded, group-interleaved order described at <see cref="Create"/>.</summary>
    internal static List<Email> Interleave(IReadOnlyList<Email> emails, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var keyed = new List<(double Key, int Index)>();
        foreach (var group in emails.Select((e, i) => (e, i)).GroupBy(x => x.e.Group).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var members = group.Select(x => x.i).ToArray();
            // Fisher–Yates with SplitMix64, so the order is the same on every platform.
            for (int i = members.Length - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (members[i], members[j]) = (members[j], members[i]); }
            double offset = rng.NextDouble();
            for (int r = 0; r < members.Length; r++) keyed.Add(((r + offset) / members.Length, members[r]));
        }
        return keyed.OrderBy(k => k.Key).ThenBy(k => k.Index).Select(k => emails[k.Index]).ToList();
    }

    static ImageDataset Tokenise(IReadOnlyList<Email> emails, WordPieceTokenizer tokenizer, int tokens, string source)
    {
        var values = new float[(long)emails.Count * tokens];
        var labels = new byte[emails.Count];
        for (int i = 0; i < emails.Count; i++)
        {
            var ids = tokenizer.Encode(emails[i].Text, tokens);
            for (int t = 0; t < tokens; t++) values[(long)i * tokens + t] = ids[t];
            labels[i] = emails[i].IsSpam ? (byte)1 : (byte)0;
        }
        return new ImageDataset(values, labels, 1, 1, tokens, 2, source);
    }
}
