using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.Tests.Evaluation;

namespace ModelSoups.Tests.Soups;

/// <summary>
/// A builder whose candidates say which members they average (in their Location), so a fake
/// evaluator can score member sets from a table: the greedy logic is tested without tensors.
/// </summary>
internal sealed class TableBuilder(int count) : ISoupBuilder
{
    private readonly List<int> _members = [];
    public List<string> Log { get; } = [];
    public IReadOnlyList<string> IngredientNames { get; } = Enumerable.Range(0, count).Select(i => $"m{i}").ToArray();
    public Candidate Ingredient(int index, bool needsFolder) => Candidate.FromCheckpoint($"m{index}", new TestCheckpoint(Key([index])));
    public void Start(int index) { _members.Clear(); _members.Add(index); Log.Add($"start {index}"); }
    public Candidate Propose(int index, bool needsFolder) => Candidate.FromCheckpoint("c", new TestCheckpoint(Key([.. _members, index])));
    public void Discard() { }
    public void Accept(int index) { _members.Add(index); Log.Add($"accept {index}"); }
    public void Dispose() { }
    public static string Key(IEnumerable<int> members) => string.Join(",", members.Order());
}

public sealed class GreedySoupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-greedy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Scores by member set; counts calls; can be told to crash on the n-th call.</summary>
    private sealed class TableEvaluator(Dictionary<string, double> table, string description = "table v1") : IEvaluator
    {
        public int Calls;
        public int CrashOnCall = -1;
        public List<string> Seen { get; } = [];
        public string Description => description;
        public bool NeedsFolder => false;
        public bool ProvidesLogits => false;
        public EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default)
        {
            Calls++;
            if (Calls == CrashOnCall) throw new IOException("simulated crash");
            var key = candidate.Checkpoint!.Location;
            Seen.Add(key);
            var score = table[key];
            return new EvaluationResult(score, new Dictionary<string, double> { ["acc"] = score, ["loss"] = 1 - score });
        }
    }

    // Ingredient scores 0.5, 0.9, 0.7, 0.8 → ranking 1, 3, 2, 0.
    private static Dictionary<string, double> Table() => new()
    {
        ["0"] = 0.5, ["1"] = 0.9, ["2"] = 0.7, ["3"] = 0.8,
        ["1,3"] = 0.92,      // better: accepted
        ["1,2,3"] = 0.91,    // worse: rejected
        ["0,1,3"] = 0.92,    // equal: accepted under ≥ only
    };

    [Fact]
    public void Greater_or_equal_keeps_equal_candidates()
    {
        var ev = new TableEvaluator(Table());
        var r = GreedySoup.Run(new TableBuilder(4), ev);
        Assert.Equal(AcceptRule.GreaterOrEqual, r.Rule);
        Assert.Equal([1, 3, 2, 0], r.Ranking);
        Assert.Equal([1, 3, 0], r.Members);
        Assert.Equal(["m1", "m3", "m0"], r.MemberNames);
        Assert.Equal(0.92, r.SoupScore);
        Assert.Equal(
            [(0, 1, 0.9, true, 0.9), (1, 3, 0.92, true, 0.92), (2, 2, 0.91, false, 0.92), (3, 0, 0.92, true, 0.92)],
            r.Trajectory.Select(s => (s.Step, s.Ingredient, s.CandidateScore, s.Accepted, s.SoupScore)));
        Assert.Equal(4 + 3, ev.Calls);
        Assert.Equal([0.5, 0.9, 0.7, 0.8], r.Ingredients.Select(i => i.Score));
        Assert.Equal(0.08, r.Trajectory[1].Metrics["loss"], 12);
    }

    [Fact]
    public void Greater_rejects_equal_candidates()
    {
        var r = GreedySoup.Run(new TableBuilder(4), new TableEvaluator(Table()), new GreedyOptions { Rule = AcceptRule.Greater });
        Assert.Equal([1, 3], r.Members);
        Assert.False(r.Trajectory[3].Accepted);
        Assert.Equal(0.92, r.SoupScore);
    }

    [Fact]
    public void Ties_between_ingredients_keep_the_given_order()
    {
        var table = new Dictionary<string, double> { ["0"] = 0.8, ["1"] = 0.9, ["2"] = 0.8, ["3"] = 0.9, ["1,3"] = 0.95, ["0,1,3"] = 0.95, ["0,1,2,3"] = 0.1 };
        var r = GreedySoup.Run(new TableBuilder(4), new TableEvaluator(table));
        Assert.Equal([1, 3, 0, 2], r.Ranking);
        Assert.Equal([1, 3, 0], r.Members);
    }

    [Fact]
    public void All_rejected_leaves_the_best_ingredient()
    {
        var table = new Dictionary<string, double> { ["0"] = 0.6, ["1"] = 0.7, ["2"] = 0.5, ["0,1"] = 0.3, ["1,2"] = 0.2 };
        var builder = new TableBuilder(3);
        var r = GreedySoup.Run(builder, new TableEvaluator(table));
        Assert.Equal([1], r.Members);
        Assert.Equal(0.7, r.SoupScore);
        Assert.All(r.Trajectory.Skip(1), s => Assert.False(s.Accepted));
        Assert.Equal(["start 1"], builder.Log);
    }

    [Fact]
    public void One_ingredient_is_its_own_soup()
    {
        var ev = new TableEvaluator(new() { ["0"] = 0.4 });
        var r = GreedySoup.Run(new TableBuilder(1), ev);
        Assert.Equal([0], r.Members);
        Assert.Single(r.Trajectory);
        Assert.Equal(1, ev.Calls);
    }

    [Fact]
    public void No_ingredients_is_refused()
    {
        Assert.Throws<ModelSoupsException>(() => GreedySoup.Run(new TableBuilder(0), new TableEvaluator([])));
    }

    [Fact]
    public void Non_finite_score_is_refused()
    {
        var ev = new DelegateEvaluator("nan", _ => EvaluationResult.FromScore(double.NaN));
        var e = Assert.Throws<EvaluationException>(() => GreedySoup.Run(new TableBuilder(2), ev));
        Assert.Contains("finite", e.Message);
    }

    private static string Json(GreedyResult r) => JsonSerializer.Serialize(r);

    private static JournalFingerprint Fingerprint(string evaluator = "table v1", AcceptRule rule = AcceptRule.GreaterOrEqual, string stamp0 = "a") =>
        JournalFingerprint.ForGreedy(
            [IngredientStamp.FromText("m0", stamp0), IngredientStamp.FromText("m1", "b"), IngredientStamp.FromText("m2", "c"), IngredientStamp.FromText("m3", "d")],
            evaluator, rule);

    [Theory]
    [InlineData(2)]  // during ingredient evaluations
    [InlineData(6)]  // during candidate evaluations
    [InlineData(7)]  // the very last one
    public void Resume_after_a_crash_gives_the_same_result_and_evaluates_only_what_is_missing(int crashOnCall)
    {
        var uninterrupted = GreedySoup.Run(new TableBuilder(4), new TableEvaluator(Table()));

        var crashing = new TableEvaluator(Table()) { CrashOnCall = crashOnCall };
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
            Assert.Throws<IOException>(() => GreedySoup.Run(new TableBuilder(4), crashing, store: journal));

        var rerun = new TableEvaluator(Table());
        GreedyResult resumed;
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
        {
            Assert.Equal(crashOnCall - 1, journal.ReplayableCount);
            resumed = GreedySoup.Run(new TableBuilder(4), rerun, store: journal);
        }
        Assert.Equal(Json(uninterrupted), Json(resumed));
        Assert.Equal(7 - (crashOnCall - 1), rerun.Calls);
        Assert.DoesNotContain(crashing.Seen, rerun.Seen.Contains);

        // A third run replays everything.
        var third = new TableEvaluator(Table());
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
            Assert.Equal(Json(uninterrupted), Json(GreedySoup.Run(new TableBuilder(4), third, store: journal)));
        Assert.Equal(0, third.Calls);
    }

    [Fact]
    public void Truncated_last_line_is_ignored_and_the_run_completes()
    {
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
            Assert.Throws<IOException>(() => GreedySoup.Run(new TableBuilder(4), new TableEvaluator(Table()) { CrashOnCall = 4 }, store: journal));
        var path = Path.Combine(_dir, GreedyJournal.FileName);
        File.AppendAllText(path, "{\"key\":\"ingredient:3\",\"sco");   // a crash mid-write

        var rerun = new TableEvaluator(Table());
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
        {
            Assert.Equal(3, journal.ReplayableCount);
            var r = GreedySoup.Run(new TableBuilder(4), rerun, store: journal);
            Assert.Equal([1, 3, 0], r.Members);
        }
        Assert.Equal(4, rerun.Calls);
        var lines = File.ReadAllLines(path);
        Assert.Equal(1 + 7, lines.Length);
        Assert.All(lines, l => JsonDocument.Parse(l).Dispose());
    }

    [Theory]
    [InlineData("other evaluator", AcceptRule.GreaterOrEqual, "a", "the evaluator differs")]
    [InlineData("table v1", AcceptRule.Greater, "a", "the settings differs")]
    [InlineData("table v1", AcceptRule.GreaterOrEqual, "changed", "ingredient 0 ('m0') changed on disk")]
    public void Journal_from_a_different_command_is_refused(string evaluator, AcceptRule rule, string stamp0, string expected)
    {
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
            GreedySoup.Run(new TableBuilder(4), new TableEvaluator(Table()), store: journal);
        var e = Assert.Throws<ModelSoupsException>(() => GreedyJournal.Open(_dir, Fingerprint(evaluator, rule, stamp0)));
        Assert.StartsWith("journal from a different command: ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.EndsWith(GreedyJournal.FileName, e.Path);
    }

    [Fact]
    public void Corrupt_line_before_the_end_is_refused()
    {
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
            GreedySoup.Run(new TableBuilder(4), new TableEvaluator(Table()), store: journal);
        var path = Path.Combine(_dir, GreedyJournal.FileName);
        var lines = File.ReadAllLines(path);
        lines[2] = "garbage";
        File.WriteAllLines(path, lines);
        var e = Assert.Throws<ModelSoupsException>(() => GreedyJournal.Open(_dir, Fingerprint()));
        Assert.Contains("corrupt at line 3", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_journal_is_refused()
    {
        File.WriteAllText(Path.Combine(_dir, GreedyJournal.FileName), "{\"hello\": 1}\n");
        var e = Assert.Throws<ModelSoupsException>(() => GreedyJournal.Open(_dir, Fingerprint()));
        Assert.Contains("not a ModelSoups journal", e.Message);
    }

    [Fact]
    public void Journal_scores_round_trip_exactly()
    {
        double awkward = 0.1 + 0.2;   // 0.30000000000000004
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
            journal.Add(GreedySoup.IngredientKey(0).ToString(), new EvaluationResult(awkward, new Dictionary<string, double> { ["m"] = 1.0 / 3 }));
        using (var journal = GreedyJournal.Open(_dir, Fingerprint()))
        {
            Assert.True(journal.TryGet(GreedySoup.IngredientKey(0).ToString(), out var r));
            Assert.Equal(BitConverter.DoubleToInt64Bits(awkward), BitConverter.DoubleToInt64Bits(r.Score));
            Assert.Equal(1.0 / 3, r.Metrics["m"]);
        }
    }
}
