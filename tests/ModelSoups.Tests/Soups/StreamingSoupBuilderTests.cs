using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Soups;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Soups;

public sealed class StreamingSoupBuilderTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static Dictionary<string, byte[]> Tensors(string path)
    {
        using var c = Checkpoint.Open(path);
        return c.Tensors.ToDictionary(p => p.Key, p => p.Value.GetBytes().ToArray());
    }

    static Dictionary<string, byte[]> Tensors(ICheckpoint c) => c.Tensors.ToDictionary(p => p.Key, p => p.Value.GetBytes().ToArray());

    string Linear(string name, params string[] models)
    {
        var outDir = _dir.File(name);
        MergeEngine.Run(QuickRecipe.Build("linear", models), outDir, new MergeOptions { Threads = 1, HashInputs = false });
        return outDir;
    }

    [Theory]
    [InlineData(1L << 30)]   // sum in memory
    [InlineData(64L)]        // sum in a memory-mapped scratch file
    public void Candidates_equal_linear_merge_of_the_same_members_bit_for_bit(long budget)
    {
        var folders = new[] { 0.5f, 1.25f, -3f, 7e-3f }.Select((w, i) => SoupFixtures.Folder(_dir.Path, $"m{i}", w, seed: i, count: 10 + i)).ToArray();
        var opened = folders.Select(f => (ICheckpoint)Checkpoint.Open(f)).ToArray();
        try
        {
            using var builder = new StreamingSoupBuilder(opened, ["m0", "m1", "m2", "m3"], new StreamingSoupOptions { ScratchFolder = _dir.File("scratch"), MemoryBudgetBytes = budget });
            builder.Start(2);
            Assert.Equal(budget < 1000, builder.SumOnDisk);
            builder.Accept(0);

            // Candidate soup {2, 0} ∪ {3}, on disk and in memory, against soup merge --method linear of m2 m0 m3.
            var expected = Tensors(Linear("lin-203", folders[2], folders[0], folders[3]));
            var onDisk = builder.Propose(3, needsFolder: true);
            Assert.Equal(expected, Tensors(onDisk.Folder!));
            Assert.True(File.Exists(Path.Combine(onDisk.Folder!, "config.json")));
            var folder = onDisk.Folder!;
            builder.Discard();
            Assert.False(Directory.Exists(folder));
            var inMemory = builder.Propose(3, needsFolder: false);
            Assert.Equal(expected, Tensors(inMemory.Checkpoint!));
            // The non-float tensor comes from the soup's first member (m2: count 12).
            Assert.Equal(12L, BitConverter.ToInt64(inMemory.Checkpoint!.Tensors["c.count"].GetBytes()));

            builder.Accept(1);
            Assert.Equal(Tensors(Linear("lin-201", folders[2], folders[0], folders[1])), Tensors(builder.CurrentSoup(needsFolder: false).Checkpoint!));
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
        Assert.Empty(Directory.Exists(_dir.File("scratch")) ? Directory.GetFileSystemEntries(_dir.File("scratch")) : []);
    }

    [Fact]
    public void Ingredients_that_do_not_line_up_are_refused()
    {
        var a = SoupFixtures.Folder(_dir.Path, "a", 1, 1);
        var b = _dir.File("b");
        Directory.CreateDirectory(b);
        ModelSoups.Formats.Safetensors.SafetensorsFile.Write(Path.Combine(b, "model.safetensors"),
            [(new ModelSoups.Tensors.TensorInfo("a.weight", ModelSoups.Tensors.DType.F32, [6]), new byte[24])]);
        using var ca = Checkpoint.Open(a);
        using var cb = Checkpoint.Open(b);
        var e = Assert.Throws<ModelSoupsException>(() => new StreamingSoupBuilder([ca, cb], ["a", "b"], new StreamingSoupOptions { ScratchFolder = _dir.Path }));
        Assert.Contains("a.weight", e.Message);
    }

    [Fact]
    public void An_ingredient_truncated_while_the_soup_is_built_is_an_error_naming_it_not_a_crash()
    {
        // Another process cuts m1 short after it was opened: reading its mapped pages would be SIGBUS; positional reads say so.
        var folders = new[] { 0.5f, 1.25f }.Select((w, i) => SoupFixtures.Folder(_dir.Path, $"m{i}", w, seed: i)).ToArray();
        var opened = folders.Select(f => (ICheckpoint)Checkpoint.Open(f)).ToArray();
        try
        {
            using var builder = new StreamingSoupBuilder(opened, ["m0", "m1"], new StreamingSoupOptions { ScratchFolder = _dir.File("scratch") });
            builder.Start(0);
            var file = opened[1].Files.Single();
            using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write)) fs.SetLength(16);
            var e = Assert.Throws<EnvironmentFaultException>(() => builder.Propose(1, needsFolder: false));
            Assert.Equal(file, e.Path);
            Assert.StartsWith("the input changed while being read", e.Message);
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }
}
