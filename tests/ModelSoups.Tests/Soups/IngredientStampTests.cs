using ModelSoups.Soups;
using ModelSoups.Tests.Evaluation;

namespace ModelSoups.Tests.Soups;

public sealed class IngredientStampTests
{
    private static string? Diff(IngredientStamp a, IngredientStamp b) =>
        JournalFingerprint.ForGreedy([a], "e", AcceptRule.Greater).Difference(JournalFingerprint.ForGreedy([b], "e", AcceptRule.Greater));

    [Fact]
    public void In_memory_checkpoints_are_hashed_by_content()
    {
        var a = IngredientStamp.FromCheckpoint("m", new TestCheckpoint().F32("w", [2], 1, 2));
        var same = IngredientStamp.FromCheckpoint("m", new TestCheckpoint().F32("w", [2], 1, 2));
        var other = IngredientStamp.FromCheckpoint("m", new TestCheckpoint().F32("w", [2], 1, 3));
        var reshaped = IngredientStamp.FromCheckpoint("m", new TestCheckpoint().F32("w", [1, 2], 1, 2));
        Assert.Null(Diff(a, same));
        Assert.Contains("changed on disk", Diff(a, other));
        Assert.NotNull(Diff(a, reshaped));
    }

    [Fact]
    public void Files_are_stamped_by_size_and_time()
    {
        var dir = Directory.CreateTempSubdirectory("ms-stamp-").FullName;
        try
        {
            var f = Path.Combine(dir, "model.safetensors");
            File.WriteAllText(f, "abc");
            var before = IngredientStamp.FromFiles("m", [f]);
            Assert.Null(Diff(before, IngredientStamp.FromFiles("m", [f])));
            File.SetLastWriteTimeUtc(f, File.GetLastWriteTimeUtc(f).AddSeconds(5));
            Assert.NotNull(Diff(before, IngredientStamp.FromFiles("m", [f])));
            Assert.Throws<ModelSoupsException>(() => IngredientStamp.FromFiles("m", [Path.Combine(dir, "missing")]));
        }
        finally { Directory.Delete(dir, true); }
    }
}
