using ModelSoups.Checkpoints;
using ModelSoups.Tensors;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;
using ModelSoups.Tests.Soups;

namespace ModelSoups.Tests.Cli;

/// <summary>Signals sent to a real child <c>soup</c>: one line, exit 128+signal, no temporary folder, no orphaned evaluator.</summary>
public sealed class SignalTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>A model big enough that dare_ties in float64 on one thread takes seconds (16 Mi elements of float32).</summary>
    string Big(string name, int seed)
    {
        var rng = new Random(seed);
        var values = new float[16 << 20];
        for (int i = 0; i < values.Length; i++) values[i] = (float)rng.NextDouble();
        return ModelFolders.Write(_dir.File(name), [(new TensorInfo("w", DType.F32, [values.Length]), ModelFolders.Bytes(DType.F32, values))]);
    }

    string[] Leftovers() => Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName)
        .Where(n => n!.StartsWith(".out", StringComparison.Ordinal)).ToArray()!;

    [Theory]
    [InlineData(2, 130, "SIGINT")]
    [InlineData(15, 143, "SIGTERM")]
    [InlineData(1, 129, "SIGHUP")]
    public void A_signal_during_a_merge_stops_it_removes_the_temporary_folder_and_prints_one_line(int signal, int code, string name)
    {
        var b = Big("base", 1);
        var m1 = Big("m1", 2);
        var m2 = Big("m2", 3);
        var output = _dir.File("out");
        using var soup = SoupProcess.Start("merge", "--method", "dare_ties", "--base", b, "--models", m1, m2, "--density", "0.5",
            "--dtype", "float64", "--threads", "1", "--no-hash", "--out", output);
        // Wait until the merge is writing (its temporary folder exists), then signal.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Directory.EnumerateDirectories(_dir.Path, ".out.tmp-*").Any() && !soup.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.False(soup.HasExited, "the merge finished before it could be interrupted; make the inputs bigger");
        soup.Signal(signal);
        var (exit, _, err) = soup.Wait(TimeSpan.FromSeconds(60));
        Assert.Equal(code, exit);
        // Redirected stderr gets a plain progress line every 5 s (a loaded machine can get there before the signal);
        // apart from those, the one cancellation line and nothing else (no stack trace).
        var lines = err.Trim().Split('\n').Where(l => !l.StartsWith("merging ", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"soup: cancelled ({name}); nothing was written to the destination"], lines);
        Assert.False(Directory.Exists(output));
        Assert.Empty(Leftovers());
    }

    [Theory]
    [InlineData(15, 143, "SIGTERM")]
    [InlineData(2, 130, "SIGINT")]    // Ctrl-C: once reported as "evaluation command printed nothing"
    [InlineData(1, 129, "SIGHUP")]
    public void A_signal_during_greedy_kills_the_running_evaluator_and_exits_with_its_code(int signal, int code, string name)
    {
        var models = new[] { SoupFixtures.Folder(_dir.Path, "m0", 0.5f, 0), SoupFixtures.Folder(_dir.Path, "m1", 1.2f, 1) };
        var pidFile = _dir.File("eval.pid");
        var script = _dir.File("eval.sh");
        File.WriteAllText(script, $"echo $$ > '{pidFile}'\nsleep 300\necho 0.5\n");
        using var soup = SoupProcess.Start("greedy", "--models", models[0], models[1], "--eval-cmd", $"sh {script} {{model}}", "--out", _dir.File("soup"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(pidFile) && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Thread.Sleep(100);
        var evaluatorPid = File.ReadAllText(pidFile).Trim();
        soup.Signal(signal);
        var (exit, _, err) = soup.Wait(TimeSpan.FromSeconds(60));
        Assert.Equal(code, exit);
        Assert.EndsWith($"soup: cancelled ({name}); nothing was written to the destination", err.Trim());
        Assert.DoesNotContain("printed nothing", err);
        Thread.Sleep(200);
        Assert.False(File.Exists($"/proc/{evaluatorPid}/cmdline") && File.ReadAllText($"/proc/{evaluatorPid}/stat").Split(") ")[1][0] != 'Z',
            $"the evaluator survived soup's {name}");
    }
}
