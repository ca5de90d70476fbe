using System.Text;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Durability;

public class JournalFuzzTests
{
    /// <summary>
    /// Mutates a valid greedy journal (byte flips, truncations, duplicated, dropped and swapped lines, appended junk)
    /// and reopens it. It must either be refused with a clean <see cref="ModelSoupsException"/>, or replay only
    /// evaluations whose scores are exactly the ones recorded: a damaged journal can never change the soup.
    /// </summary>
    [Fact]
    public void Mutated_journals_are_refused_or_replay_exactly_what_was_recorded()
    {
        using var dir = new TempDir();
        var fp = JournalFingerprint.ForGreedy(Enumerable.Range(0, 4).Select(i => IngredientStamp.FromText($"m{i}", $"s{i}")), "fuzz", AcceptRule.GreaterOrEqual);
        var recorded = new Dictionary<string, double>
        {
            [GreedySoup.IngredientKey(0).ToString()] = 0.25, [GreedySoup.IngredientKey(1).ToString()] = 0.5, [GreedySoup.IngredientKey(2).ToString()] = 0.125,
            [GreedySoup.IngredientKey(3).ToString()] = 0.75, [GreedySoup.SoupKey([1, 3]).ToString()] = 0.8125, [GreedySoup.SoupKey([0, 1, 3]).ToString()] = 0.625,
        };
        using (var j = GreedyJournal.Open(dir.Path, fp))
            foreach (var (k, v) in recorded) j.Add(k, EvaluationResult.FromScore(v));
        var path = Path.Combine(dir.Path, GreedyJournal.FileName);
        var original = File.ReadAllBytes(path);

        var rng = new Random(7);
        int refused = 0, replayed = 0;
        for (int iter = 0; iter < 1500; iter++)
        {
            var bytes = (byte[])original.Clone();
            var lines = Encoding.UTF8.GetString(original).Split('\n')[..^1].ToList();
            switch (rng.Next(6))
            {
                case 0:
                    for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
                    break;
                case 1:
                    bytes = bytes[..rng.Next(bytes.Length)];
                    break;
                case 2:
                    lines.Insert(rng.Next(1, lines.Count + 1), lines[rng.Next(1, lines.Count)]);
                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
                    break;
                case 3:
                    lines.RemoveAt(rng.Next(lines.Count));
                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
                    break;
                case 4:
                    int a = rng.Next(1, lines.Count), b = rng.Next(1, lines.Count);
                    (lines[a], lines[b]) = (lines[b], lines[a]);
                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
                    break;
                default:
                    bytes = [.. bytes, .. Encoding.UTF8.GetBytes(rng.Next(2) == 0 ? "{\"key\":\"ingredient:0\"}\n" : "\0\0\0")];
                    break;
            }
            File.WriteAllBytes(path, bytes);
            try
            {
                using var j = GreedyJournal.Open(dir.Path, fp);
                foreach (var (k, v) in recorded)
                    if (j.TryGet(k, out var r)) Assert.Equal(v, r.Score);
                replayed++;
            }
            catch (ModelSoupsException)
            {
                refused++;
            }
        }
        Assert.Equal(1500, refused + replayed);
        Assert.True(refused > 100 && replayed > 100, $"{refused} refused, {replayed} replayed");
    }
}
