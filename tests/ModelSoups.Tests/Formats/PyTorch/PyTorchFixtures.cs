using ModelSoups.Checkpoints;
using ModelSoups.Formats.Safetensors;

namespace ModelSoups.Tests.Formats.PyTorch;

/// <summary>The committed torch.save fixtures (Reference/make_fixtures.py) and what they must read as.</summary>
static class PyTorchFixtures
{
    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "Formats", "PyTorch", "Reference");

    public static string Fixture(string name) => Path.Combine(Folder, name);

    /// <summary>NAME.expected.safetensors for fixture NAME.ext (or FOLDER.expected.safetensors for a folder).</summary>
    public static string Expected(string fixture) => Fixture(Path.GetFileNameWithoutExtension(fixture.TrimEnd('/')) + ".expected.safetensors");

    /// <summary>Asserts <paramref name="actual"/> has exactly the tensors of the expected file: names, dtypes, shapes and every byte.</summary>
    public static void AssertSameTensors(string expectedPath, ICheckpoint actual, Func<string, string>? rename = null)
    {
        using var expected = SafetensorsFile.Open(expectedPath);
        var names = expected.Tensors.Select(t => rename?.Invoke(t.Name) ?? t.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(names, actual.Tensors.Keys.ToList());
        foreach (var e in expected.Tensors)
        {
            var a = actual.Tensors[rename?.Invoke(e.Name) ?? e.Name];
            Assert.Equal(e.DType, a.DType);
            Assert.Equal(e.Shape, a.Shape);
            Assert.True(e.GetBytes().SequenceEqual(a.GetBytes()), $"tensor '{e.Name}' differs from {Path.GetFileName(expectedPath)}");
        }
    }
}
