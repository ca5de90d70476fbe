using ModelSoups.Cli;
using ModelSoups.Soups;
using ModelSoups.Tests.Formats;
using ModelSoups.Tests.Soups;

namespace ModelSoups.Tests.Cli;

public sealed class ConcurrentGreedyTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_second_greedy_run_on_the_same_output_is_refused_naming_the_first_and_the_journal_stays_intact()
    {
        var models = new[] { SoupFixtures.Folder(_dir.Path, "m0", 0.5f, 0), SoupFixtures.Folder(_dir.Path, "m1", 1.2f, 1) };
        var started = _dir.File("started");
        var go = _dir.File("go");
        var script = _dir.File("eval.sh");
        // Every evaluation waits for the test's go-ahead, so the first run is surely in the middle of its work.
        File.WriteAllText(script, $"touch '{started}'\nwhile [ ! -e '{go}' ]; do sleep 0.05; done\necho 0.5\n");
        string[] args = ["greedy", "--models", models[0], models[1], "--eval-cmd", $"sh {script} {{model}}", "--out", _dir.File("soup"), "--threads", "1"];

        (int Code, string Err) first = default;
        var thread = new Thread(() =>
        {
            var e = new StringWriter();
            first = (SoupApp.Run(args, new StringWriter(), e), e.ToString());
        });
        thread.Start();
        for (int i = 0; i < 600 && !File.Exists(started); i++) Thread.Sleep(50);
        Assert.True(File.Exists(started));

        var err = new StringWriter();
        int second = SoupApp.Run(args, new StringWriter(), err);
        Assert.Equal(2, second);
        Assert.Contains($"another soup process (pid {Environment.ProcessId}) is writing here", err.ToString());

        File.WriteAllText(go, "");
        thread.Join();
        Assert.True(first.Code == 0, first.Err);
        // The journal holds only the first run's lines: the header, 2 ingredients and 1 candidate soup, each checksummed.
        var lines = File.ReadAllLines(Path.Combine(_dir.File("soup.work"), GreedyJournal.FileName));
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.Matches(",\"crc32\":\"[0-9a-f]{8}\"}$", l));
    }
}
