using System.Text.RegularExpressions;

namespace ModelSoups.Tests.Durability;

/// <summary>
/// The toolkit's promise that an output is written to a temporary place and moved into place when complete holds
/// only if no code writes a file in place. Every output goes through <c>ModelSoups.Durability</c> (AtomicFile,
/// AtomicFolder, Journal, CheckpointWriter); this test finds the direct in-place writers anywhere else in src/.
/// </summary>
public sealed class OutputWritesTests
{
    static readonly Regex InPlaceWrite = new(
        @"\bFile\.(WriteAll(Text|Bytes|Lines)|AppendAll(Text|Lines)|Create|CreateText|OpenWrite|AppendText)\s*\(|\bFileMode\.(Create|Append|Truncate|OpenOrCreate)\b",
        RegexOptions.Compiled);

    [Fact]
    public void No_source_file_outside_Durability_writes_a_file_in_place()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "ModelSoups.slnx"))) root = Path.GetDirectoryName(root)!;
        string src = Path.Combine(root, "src");
        string durability = Path.Combine(src, "ModelSoups", "Durability") + Path.DirectorySeparatorChar;
        var offenders = new List<string>();
        int scanned = 0;
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(src, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj")) continue;
            scanned++;
            if (file.StartsWith(durability, StringComparison.Ordinal)) continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                string code = lines[i].TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal)) continue;
                if (InPlaceWrite.IsMatch(code)) offenders.Add($"{relative}:{i + 1}: {code}");
            }
        }
        Assert.True(scanned > 100, $"only {scanned} source files found under {src}");
        Assert.True(offenders.Count == 0, "files written in place, not through ModelSoups.Durability:\n" + string.Join("\n", offenders));
    }

    [Theory]
    [InlineData("File.WriteAllText(path, text);")]
    [InlineData("System.IO.File.WriteAllBytes(p, b);")]
    [InlineData("using var s = File.Create(path);")]
    [InlineData("File.AppendAllText(log, line);")]
    [InlineData("using var fs = new FileStream(path, FileMode.Create);")]
    [InlineData("var h = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write);")]
    public void The_pattern_finds_in_place_writes(string line) => Assert.Matches(InPlaceWrite, line);

    [Theory]
    [InlineData("AtomicFile.WriteAllText(path, text);")]
    [InlineData("var text = File.ReadAllText(path);")]
    [InlineData("using var claim = new FileStream(marker, FileMode.CreateNew);")]
    [InlineData("var c = SafetensorsFile.Open(path);")]
    public void The_pattern_leaves_atomic_writes_and_reads_alone(string line) => Assert.DoesNotMatch(InPlaceWrite, line);
}
