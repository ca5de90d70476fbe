using System.Diagnostics;
using System.Security.Cryptography;
using ModelSoups.Tensors;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Cli;

/// <summary>
/// A merge killed with SIGKILL at random moments, again and again: the destination is always absent or complete and
/// identical to a clean run, the inputs never change, and the next run leaves no temporary folder behind.
/// </summary>
public sealed class KillLoopTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static string Digest(string folder) => string.Join("\n", Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(f => $"{Path.GetRelativePath(folder, f)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))}"));

    string Model(string name, int seed)
    {
        var rng = new Random(seed);
        var tensors = Enumerable.Range(0, 8).Select(i =>
        {
            var v = new float[1 << 18];
            for (int j = 0; j < v.Length; j++) v[j] = (float)rng.NextDouble();
            return (new TensorInfo($"layers.{i}.weight", DType.F32, [v.Length]), ModelFolders.Bytes(DType.F32, v));
        });
        // Shards of 2 MB: the output is written as several files, so kills land between them too.
        return ModelFolders.Write(_dir.File(name), tensors, maxShardBytes: 2_000_000);
    }

    [Fact]
    public void A_merge_killed_at_random_points_leaves_the_destination_absent_or_complete_and_inputs_unchanged()
    {
        var a = Model("a", 1);
        var b = Model("b", 2);
        var inputs = Digest(a) + Digest(b);
        string[] Args(string output) => ["merge", "--method", "linear", "--models", a, b, "--out", output, "--overwrite", "--no-timestamp", "--threads", "2"];

        // The clean run writes to the same path as the killed ones (the model card names the output folder).
        var output = _dir.File("out");
        var reference = _dir.File("reference");
        var clean = SoupProcess.Run(Args(output));
        Assert.True(clean.Code == 0, clean.Err);
        Directory.Move(output, reference);
        var expected = Digest(reference);

        var rng = new Random(42);
        var clock = Stopwatch.StartNew();
        int killed = 0;
        for (int round = 0; round < 12 && clock.Elapsed < TimeSpan.FromSeconds(40); round++)
        {
            using (var soup = SoupProcess.Start(Args(output)))
            {
                Thread.Sleep(rng.Next(0, 900));
                if (!soup.HasExited) { soup.Signal(9); killed++; }
                soup.Wait(TimeSpan.FromSeconds(60));
            }
            if (Directory.Exists(output)) Assert.Equal(expected, Digest(output));
            Assert.Equal(inputs, Digest(a) + Digest(b));
        }
        Assert.True(killed > 0, "no run was killed: every merge finished before its kill");

        var last = SoupProcess.Run(Args(output));
        Assert.True(last.Code == 0, last.Err);
        Assert.Equal(expected, Digest(output));
        Assert.Equal(["a", "b", "out", "reference"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
