using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Merging;
using ModelSoups.Recipes;
using ModelSoups.Soups;

namespace ModelSoups.Tests.Soups;

/// <summary>
/// <see cref="IngredientLineup"/>: the one check that a soup's ingredients line up, reused by the final write's plan
/// (<see cref="MergeOptions.LinedUp"/>) without changing what the plan decides.
/// </summary>
public sealed class IngredientLineupTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>What a plan decided for each tensor, as text: action, output, copy source, bound weights, blocks.</summary>
    static List<string> Decisions(MergePlan plan) => plan.Tasks.Select(t =>
        $"{t.Action} {t.Output.Name} {t.Output.DType} {t.Output.ShapeText} {t.CopySource?.Name} " +
        $"{(t.Parameters is { } p ? string.Join(",", ((Linear)plan.Method).Typed(p).Weights) : "")} {t.Elementwise}").ToList();

    [Fact]
    public void A_plan_lent_the_checked_ingredients_decides_exactly_what_it_decides_checking_them_itself()
    {
        // Three ingredients (f32, bf16 and an i64 counter each) and a base: linear of the last two, as greedy's final write.
        var folders = new[] { 0.5f, 1.25f, -2f }.Select((w, i) => SoupFixtures.Folder(_dir.Path, $"m{i}", w, seed: i, count: 5 + i)).ToArray();
        var baseFolder = SoupFixtures.Folder(_dir.Path, "base", 0f, seed: 9, count: 1);
        var opened = folders.Select(f => (ICheckpoint)Checkpoint.Open(f)).ToArray();
        using var baseCkpt = Checkpoint.Open(baseFolder);
        try
        {
            var lineup = IngredientLineup.Check(opened, ["m0", "m1", "m2"]);
            var recipe = QuickRecipe.Build("linear", [folders[2], folders[1]], baseFolder);
            var lent = new Dictionary<string, ICheckpoint> { [Path.GetFullPath(folders[1])] = opened[1], [Path.GetFullPath(folders[2])] = opened[2], [Path.GetFullPath(baseFolder)] = baseCkpt };
            var options = new MergeOptions { Threads = 1, HashInputs = false, OpenedInputs = lent };
            using var checkedHere = MergePlan.Create(recipe, options);
            using var reused = MergePlan.Create(recipe, options with { LinedUp = lineup });
            Assert.True(lineup.Covers(reused.Inputs));      // the plan's (borrowed) inputs are the checked ones
            Assert.Equal(Decisions(checkedHere), Decisions(reused));
            Assert.Equal(checkedHere.Notes, reused.Notes);
            Assert.Equal(checkedHere.Describe(options, "out"), reused.Describe(options, "out"));
            // The counter is not averaged: it comes from the base (same dtype and shape), in both.
            Assert.Contains(Decisions(reused), d => d.StartsWith("Copy c.count I64 [1] c.count", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }

    [Fact]
    public void A_lineup_of_other_checkpoints_does_not_excuse_the_plan_from_its_own_checks()
    {
        var a = SoupFixtures.Folder(_dir.Path, "a", 1, 1);
        var b = _dir.File("b");
        Directory.CreateDirectory(b);
        ModelSoups.Formats.Safetensors.SafetensorsFile.Write(Path.Combine(b, "model.safetensors"),
            [(new ModelSoups.Tensors.TensorInfo("a.weight", ModelSoups.Tensors.DType.F32, [6]), new byte[24])]);
        using var other = Checkpoint.Open(a);
        using var ca = Checkpoint.Open(a);
        using var cb = Checkpoint.Open(b);
        var lineup = IngredientLineup.Check([other], ["a"]);
        Assert.True(lineup.Covers([new BorrowedCheckpoint(other)]));
        Assert.False(lineup.Covers([ca]));               // the same folder opened again is not the checked checkpoint
        var e = Assert.Throws<ModelSoupsException>(() =>
            MergePlan.Create(QuickRecipe.Build("linear", [a, b]), new MergeOptions { Threads = 1, LinedUp = lineup }));
        Assert.Contains("the inputs do not line up", e.Message);
        // The lineup itself refuses the pair with the builder's message (first ingredient's shape, then the other's).
        var refused = Assert.Throws<ModelSoupsException>(() => IngredientLineup.Check([ca, cb], ["a", "b"]));
        Assert.Equal("tensor 'a.weight' is [6] in ingredient 'b' but [2, 3] in 'a'.", refused.Message);
    }
}
