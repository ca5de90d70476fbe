using ModelSoups.Tensors;
using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.Tests.Evaluation;

namespace ModelSoups.Tests.Soups;

public sealed class InMemorySoupBuilderTests
{
    private static Candidate Ingredient(string name, float w0, float w1, long steps) =>
        Candidate.FromCheckpoint(name, new TestCheckpoint(name)
            .F32("w", [2], w0, w1)
            .I64("bn.num_batches_tracked", [], steps));

    [Fact]
    public void Greedy_end_to_end_averages_exactly_and_copies_integer_tensors_from_the_best()
    {
        // Score: minus the squared distance of w to (2, 2).
        var ingredients = new[]
        {
            Ingredient("a", 0f, 4f, 10),   // score -(4+4) = -8
            Ingredient("b", 3f, 1f, 20),   // -(1+1) = -2  (best)
            Ingredient("c", 1f, 3f, 30),   // -2 (tie, later)
            Ingredient("d", 9f, 9f, 40),   // -98
        };
        var seen = new List<(float, float, long)>();
        var evaluator = new DelegateEvaluator("distance to (2,2)", c =>
        {
            var w = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(c.Tensors["w"].GetBytes()).ToArray();
            var steps = BitConverter.ToInt64(c.Tensors["bn.num_batches_tracked"].GetBytes());
            seen.Add((w[0], w[1], steps));
            return EvaluationResult.FromScore(-((w[0] - 2) * (w[0] - 2) + (w[1] - 2) * (w[1] - 2)));
        });
        using var builder = new InMemorySoupBuilder(ingredients);
        var r = GreedySoup.Run(builder, evaluator);

        Assert.Equal([1, 2, 0, 3], r.Ranking);
        // b+c = (2,2): score 0, accepted. b+c+a = (4/3, 8/3): worse, rejected. b+c+d = (13/3, 13/3): rejected.
        Assert.Equal([1, 2], r.Members);
        Assert.Equal(0, r.SoupScore);
        Assert.Equal(
            [(0f, 4f, 10L), (3f, 1f, 20L), (1f, 3f, 30L), (9f, 9f, 40L), (2f, 2f, 20L), (4f / 3f, 8f / 3f, 20L), (13f / 3f, 13f / 3f, 20L)],
            seen);
        using var soup = builder.CurrentSoup();
        Assert.Equal([2f, 2f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(soup.Tensors["w"].GetBytes()).ToArray());
    }

    private sealed class FolderEvaluator : IEvaluator
    {
        public List<string> Folders { get; } = [];
        public string Description => "folder";
        public bool NeedsFolder => true;
        public bool ProvidesLogits => false;
        public EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default)
        {
            var folder = candidate.RequireFolder("test");
            Folders.Add(folder);
            return EvaluationResult.FromScore(float.Parse(File.ReadAllText(Path.Combine(folder, "w.txt")), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Folder_evaluators_get_temporary_folders_that_are_deleted()
    {
        var temp = Directory.CreateTempSubdirectory("ms-builder-").FullName;
        try
        {
            var ingredients = new[] { Ingredient("a", 1f, 0f, 1), Ingredient("b", 3f, 0f, 1) };
            void Write(ICheckpoint c, string folder) => File.WriteAllText(Path.Combine(folder, "w.txt"),
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(c.Tensors["w"].GetBytes())[0].ToString(System.Globalization.CultureInfo.InvariantCulture));
            var ev = new FolderEvaluator();
            using var builder = new InMemorySoupBuilder(ingredients, Write, temp);
            var r = GreedySoup.Run(builder, ev);
            Assert.Equal(3, ev.Folders.Count);
            Assert.Equal(3, ev.Folders.Distinct().Count());
            Assert.All(ev.Folders, f => Assert.StartsWith(temp, f));
            Assert.Empty(Directory.GetFileSystemEntries(temp));
            Assert.Equal([1], r.Members);  // best is b (3); mean with a is 2 < 3: rejected
        }
        finally { Directory.Delete(temp, true); }
    }

    [Fact]
    public void Mismatched_ingredients_are_refused()
    {
        var a = Candidate.FromCheckpoint("a", new TestCheckpoint("a").F32("w", [2], 1, 2));
        var b = Candidate.FromCheckpoint("b", new TestCheckpoint("b").F32("w", [1, 2], 1, 2));
        var c = Candidate.FromCheckpoint("c", new TestCheckpoint("c").F32("v", [2], 1, 2));
        Assert.Contains("[1, 2]", Assert.Throws<ModelSoupsException>(() => new InMemorySoupBuilder([a, b])).Message);
        Assert.Contains("no tensor 'w'", Assert.Throws<ModelSoupsException>(() => new InMemorySoupBuilder([a, c])).Message);
    }

    [Fact]
    public void Bf16_is_averaged_and_unwritable_floats_are_refused()
    {
        // bf16 1 and 2 average to 1.5 (0x3FC0), exactly representable.
        var a = Candidate.FromCheckpoint("a", new TestCheckpoint("a").BF16("w", [1], 1));
        var b = Candidate.FromCheckpoint("b", new TestCheckpoint("b").BF16("w", [1], 2));
        using (var builder = new InMemorySoupBuilder([a, b]))
        {
            builder.Start(0);
            builder.Accept(1);
            Assert.Equal((ushort)0x3FC0, BitConverter.ToUInt16(builder.CurrentSoup().Tensors["w"].GetBytes()));
        }
        // F8 can be read but not written, so a soup of it cannot be stored: refused up front, naming the dtype.
        var f8 = Candidate.FromCheckpoint("f8", new TestCheckpoint("f8").Add("w", DType.F8_E4M3, [1], [0x38]));
        Assert.Contains("F8_E4M3", Assert.Throws<ModelSoupsException>(() => new InMemorySoupBuilder([f8])).Message);
    }
}
