using System.Diagnostics;
using System.Security.Cryptography;
using ModelSoups.Tensors;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Cli;

/// <summary>
/// Issue #11 finding 7 from the outside: the real soup merging while another process cuts an input short at random
/// moments. Whenever it lands, soup either finished first (a complete output, identical to a clean run), or stops with
/// one line naming the file (exit 1 while merging, 2 when the file was already short at open) and leaves neither an
/// output nor a temporary folder — never a crash (SIGBUS: exit 135) or a hang.
/// </summary>
public sealed class TruncationLoopTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static string Digest(string folder) => string.Join("\n", Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(f => $"{Path.GetRelativePath(folder, f)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))}"));

    [Fact]
    public void An_input_truncated_at_random_moments_of_a_merge_is_a_clean_error_or_a_complete_output_never_a_crash()
    {
        // Two inputs of 4 Mi f32 elements (16 MiB each): long enough to be cut while they are read.
        const int N = 1 << 22;
        string Model(string name, float scale) => ModelFolders.Write(_dir.File(name),
            [(new TensorInfo("w", DType.F32, [1024, N / 1024]), ModelFolders.Bytes(DType.F32, Enumerable.Range(0, N).Select(i => scale * (i % 1000)).ToArray()))]);
        var a = Model("a", 1f);
        var b = Model("b", 0.5f);
        var file = Path.Combine(b, "model.safetensors");
        var original = File.ReadAllBytes(file);
        var output = _dir.File("out");
        string[] args = ["merge", "--method", "linear", "--models", a, b, "--out", output, "--no-timestamp", "--threads", "1", "--memory-budget", "4MiB"];

        var clean = SoupProcess.Run(args);
        Assert.True(clean.Code == 0, clean.Err);
        var expected = Digest(output);
        Directory.Delete(output, recursive: true);

        var rng = new Random(7);
        var codes = new List<int>();
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < 8 && clock.Elapsed < TimeSpan.FromSeconds(40); round++)
        {
            File.WriteAllBytes(file, original);
            (int Code, string Out, string Err) r;
            using (var soup = SoupProcess.Start(args))
            {
                Thread.Sleep(rng.Next(0, 600));
                using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) fs.SetLength(1024);   // inside the data: later reads find the end
                r = soup.Wait(TimeSpan.FromSeconds(60));
            }
            codes.Add(r.Code);
            Assert.True(r.Code is 0 or 1 or 2, $"round {round}: exit {r.Code} (135 is SIGBUS); stderr: {r.Err}");
            if (r.Code == 0)
            {
                Assert.Equal(expected, Digest(output));
                Directory.Delete(output, recursive: true);
            }
            else
            {
                Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
                Assert.Contains(file, r.Err);
                Assert.False(Directory.Exists(output), $"round {round}: an output was left after exit {r.Code}");
            }
            Assert.Equal(["a", "b"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        Assert.NotEmpty(codes);
    }
}
