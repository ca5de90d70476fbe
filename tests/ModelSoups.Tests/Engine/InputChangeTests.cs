using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary>An input rewritten or truncated by another process while it is mapped: a clean error, not SIGBUS or a wrong soup.</summary>
public sealed class InputChangeTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    (MergePlan Plan, string File) Planned()
    {
        var a = ModelFolders.Write(_dir.File("a"), ModelFolders.Tiny(DType.F32, 1));
        var b = ModelFolders.Write(_dir.File("b"), ModelFolders.Tiny(DType.F32, 2));
        var plan = MergePlan.Create(QuickRecipe.Build("linear", [a, b]), new MergeOptions());
        return (plan, Path.Combine(b, "model.safetensors"));
    }

    void AssertNothingWritten()
    {
        Assert.Equal(["a", "b"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_input_truncated_after_it_was_mapped_stops_the_merge_cleanly()
    {
        var (plan, file) = Planned();
        using (plan)
        {
            // Another process cuts the file short: reading those mapped pages now would kill the process with SIGBUS.
            using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write)) fs.SetLength(fs.Length / 2);
            var e = Assert.Throws<EnvironmentFaultException>(() => MergeEngine.Run(plan, _dir.File("out"), new MergeOptions { HashInputs = false }));
            Assert.Equal(file, e.Path);
            Assert.StartsWith("the input changed while being read", e.Message);
        }
        AssertNothingWritten();
    }

    [Fact]
    public void An_input_rewritten_in_place_stops_the_merge_instead_of_mixing_old_and_new_bytes()
    {
        var (plan, file) = Planned();
        using (plan)
        {
            var bytes = File.ReadAllBytes(file);
            bytes[^1] ^= 0x40;
            using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write)) fs.Write(bytes);
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(5));
            var e = Assert.Throws<EnvironmentFaultException>(() => MergeEngine.Run(plan, _dir.File("out"), new MergeOptions { HashInputs = false }));
            Assert.StartsWith("the input changed while being read", e.Message);
        }
        AssertNothingWritten();
    }
}
