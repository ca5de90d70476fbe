using System.Text.Json.Nodes;
using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Execution.Slurm;
using ModelSoups.Recipes;

namespace ModelSoups.Cli.Tests;

/// <summary>
/// <c>soup greedy</c> and <c>soup eval</c> through <c>--executor slurm</c> on the real single-node test cluster
/// (<see cref="SlurmFactAttribute"/>), and through <c>--parallel</c> local processes: the same soup and journal as
/// in process; failures named with their logs; --no-wait, kill -9 and a rerun; Ctrl-C cancels the jobs.
/// </summary>
public sealed class SlurmGreedyTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // The fixture of GreedyCommandTests: a.weight[0] of each ingredient; score = −(w − 1)². Ranking m3, m1, m0, m2, m4;
    // the soup keeps m3 and m1 (see there for the arithmetic).
    static readonly float[] Weights = [0.5f, 1.2f, 2.0f, 0.9f, -3f];

    // The test cluster runs jobs on this machine as root, so the temp folder is visible to its tasks.
    static readonly string[] Slurm = ["--executor", "slurm", "--slurm-allow-local", "--slurm-poll", "0.3"];

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    string[] Models() => Weights.Select((w, i) => SoupFixtures.Folder(_dir.Path, $"m{i}", w, seed: i, count: 10 + i)).ToArray();

    string Script(string evaluatorPrefix = "")
    {
        var inner = SoupFixtures.Script(_dir.Path, _dir.File("calls.log"));
        var path = _dir.File("eval-wrapper.sh");
        File.WriteAllText(path, $"#!/bin/sh\n{evaluatorPrefix}\nexec sh '{inner}' \"$1\"\n");
        return path;
    }

    static string[] Greedy(string[] models, string script, string output, params string[] more) =>
        ["greedy", "--models", .. models, "--eval-cmd", $"sh {script} {{model}}", "--out", output, "--threads", "1", "--no-timestamp", "--no-report", .. more];

    static Dictionary<string, byte[]> Tensors(string path)
    {
        using var c = Checkpoint.Open(path);
        return c.Tensors.ToDictionary(p => p.Key, p => p.Value.GetBytes().ToArray());
    }

    /// <summary>The journal's entries without their time stamps and checksums: key → score and metrics, in order.</summary>
    static List<string> Journal(string work) => File.ReadLines(Path.Combine(work, "journal.jsonl")).Skip(1).Select(line =>
    {
        var o = JsonNode.Parse(line)!.AsObject();
        var v = o["value"]!.AsObject();
        return $"{o["key"]} {v["score"]!.ToJsonString()} {v["metrics"]!.ToJsonString()}";
    }).ToList();

    static List<(string Key, string Job)> JobRecords(string work)
    {
        var path = SlurmJobRecords.PathIn(work);
        if (!File.Exists(path)) return [];
        // Read with cat: a waiting soup holds the journal's flock, which .NET's own file opening would respect.
        var psi = new System.Diagnostics.ProcessStartInfo("cat") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(path);
        using var cat = System.Diagnostics.Process.Start(psi)!;
        var text = cat.StandardOutput.ReadToEnd();
        cat.WaitForExit();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.EndsWith('}')).Skip(1).Select(l => JsonNode.Parse(l)!.AsObject())
            .Where(o => ((string)o["key"]!).StartsWith("job:", StringComparison.Ordinal))
            .Select(o => ((string)o["key"]!, (string)o["value"]!["job"]!)).ToList();
    }

    (Dictionary<string, byte[]> Soup, List<string> Journal) Local(string[] models, string script)
    {
        var output = _dir.File("local");
        var (code, _, e) = Soup(Greedy(models, script, output));
        Assert.True(code == 0, e);
        return (Tensors(output), Journal(output + ".work"));
    }

    [Fact]
    public void Greedy_through_local_worker_processes_gives_the_same_soup_and_journal_as_in_process()
    {
        var models = Models();
        var script = Script();
        var (soup, journal) = Local(models, script);
        var output = _dir.File("parallel");
        var (code, o, e) = Soup(Greedy(models, script, output, "--parallel", "3"));
        Assert.True(code == 0, e);
        Assert.Contains("greedy soup: 2 of 5 ingredients", o);
        Assert.Equal(soup, Tensors(output));
        Assert.Equal(journal, Journal(output + ".work"));
        Assert.Contains("processes ingredients: 0 queued, 0 running, 5 done, 0 failed", e);
        // Redirected (a test's writer): plain lines through the command's one progress view — no escape sequences, every
        // executor event a whole line of its own, a line only when the counts change.
        Assert.DoesNotContain('\u001b', e);
        var executorLines = e.Split('\n').Where(l => l.Contains(" queued, ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(executorLines);
        Assert.All(executorLines, l => Assert.Matches(@"^processes (ingredients|eval): \d+ queued, \d+ running, \d+ done", l));
        Assert.All(executorLines.Zip(executorLines.Skip(1)), pair => Assert.NotEqual(pair.First, pair.Second));
    }

    [SlurmFact]
    public void Greedy_through_slurm_gives_the_same_soup_and_journal_as_in_process()
    {
        var models = Models();
        var script = Script();
        var (soup, journal) = Local(models, script);
        var output = _dir.File("slurm");
        var (code, o, e) = Soup(Greedy(models, script, output, [.. Slurm, "--slurm-max-parallel", "2"]));
        Assert.True(code == 0, e);
        Assert.Contains("greedy soup: 2 of 5 ingredients", o);
        Assert.Equal(soup, Tensors(output));
        Assert.Equal(journal, Journal(output + ".work"));
        // The five ingredient evaluations were one array of five tasks (at most 2 at once); each candidate its own job.
        var jobs = JobRecords(output + ".work");
        Assert.Equal(5 + 4, jobs.Count);
        var arrays = jobs.Select(j => j.Job.Split('_')[0]).ToList();
        Assert.Single(arrays.Take(5).Distinct());
        Assert.Equal(4, arrays.Skip(5).Distinct().Count());
        var ingredientsScript = File.ReadAllText(Path.Combine(output + ".work", "slurm", "ingredients-001", SlurmScript.FileName));
        Assert.Contains("#SBATCH --array=0-4%2", ingredientsScript);
        Assert.Contains("slurm ingredients: 0 queued, 0 running, 5 done, 0 failed", e);
    }

    [SlurmFact]
    public void A_failing_evaluation_task_is_reported_with_its_log_and_exit_code_while_the_others_finish()
    {
        var models = Models();
        var script = Script("case \"$1\" in *m2) echo 'simulated evaluator crash' >&2; exit 1;; esac");
        var output = _dir.File("failing");
        var (code, _, e) = Soup(Greedy(models, script, output, Slurm));
        Assert.Equal(1, code);
        var line = e.Split('\n').Single(l => l.StartsWith("soup: ", StringComparison.Ordinal));
        Assert.Contains("1 unit(s) failed", line);
        var folder = Path.Combine(output + ".work", "slurm", "ingredients-001");
        var log = SlurmScript.ErrorLog(folder, 2);
        Assert.Contains(log, line);
        Assert.Contains("exit code 2", line);   // soup eval's exit code for an evaluator that fails
        Assert.Contains("rerun the same command", line);
        Assert.Contains("simulated evaluator crash", File.ReadAllText(log));
        // The four others ran to the end and are journaled; nothing was published.
        Assert.Equal(4, Journal(output + ".work").Count);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any());
    }

    [SlurmFact]
    public void No_wait_then_a_rerun_adopts_the_running_jobs_and_resubmits_nothing_finished()
    {
        var models = Models();
        var slow = Script("sleep 3");
        var (soup, journal) = Local(models, Script());
        var output = _dir.File("nowait");
        var work = output + ".work";
        var (code, o, e) = Soup(Greedy(models, slow, output, [.. Slurm, "--no-wait"]));
        Assert.True(code == 0, e);
        Assert.Contains("submitted without waiting", o);
        var first = JobRecords(work);
        Assert.Equal(5, first.Count);
        foreach (var (_, job) in first) Assert.Contains(job, o);
        Assert.NotEmpty(SlurmQueue.Active(first.Select(j => j.Job)));

        var (code2, o2, e2) = Soup(Greedy(models, slow, output, Slurm));
        Assert.True(code2 == 0, e2);
        Assert.Contains("adopted", e2);
        Assert.Equal(soup, Tensors(output));
        Assert.Equal(journal, Journal(work));
        // Every ingredient was submitted exactly once (by the first command); the rerun added only the candidates.
        var all = JobRecords(work);
        Assert.Equal(first, all.Take(5).ToList());
        Assert.Equal(5 + 4, all.Count);
        Assert.All(all, j => Assert.EndsWith(":1", j.Key));
        Assert.Contains("evaluations: 9 run, 0 from the journal", o2);
    }

    [SlurmFact]
    public void A_client_killed_with_sigkill_leaves_its_jobs_running_and_a_rerun_adopts_them()
    {
        var models = Models();
        var slow = Script("sleep 4");
        var output = _dir.File("killed");
        var work = output + ".work";
        using (var child = new SoupChild(Greedy(models, slow, output, Slurm)))
        {
            Assert.True(SpinWait.SpinUntil(() => JobRecords(work).Count == 5, TimeSpan.FromSeconds(60)), "no jobs were recorded");
            child.Signal(9);
            child.Wait(TimeSpan.FromSeconds(30));
        }
        var jobs = JobRecords(work).Select(j => j.Job).ToList();
        Assert.NotEmpty(SlurmQueue.Active(jobs));
        var (code, o, e) = Soup(Greedy(models, slow, output, Slurm));
        Assert.True(code == 0, e);
        Assert.Contains("adopted", e);
        Assert.Contains("greedy soup: 2 of 5 ingredients", o);
        MergeEngine.Run(QuickRecipe.Build("linear", [models[3], models[1]]), _dir.File("linear"), new MergeOptions { Threads = 1, HashInputs = false });
        Assert.Equal(Tensors(_dir.File("linear")), Tensors(output));
        Assert.All(JobRecords(work), j => Assert.EndsWith(":1", j.Key));
    }

    [SlurmFact]
    public void Ctrl_c_while_waiting_cancels_the_submitted_jobs_and_leaves_none_in_squeue()
    {
        var models = Models();
        var slow = Script("sleep 120");
        var output = _dir.File("cancelled");
        var work = output + ".work";
        using var child = new SoupChild(Greedy(models, slow, output, Slurm));
        Assert.True(SpinWait.SpinUntil(() => JobRecords(work).Count == 5, TimeSpan.FromSeconds(60)), "no jobs were recorded");
        var jobs = JobRecords(work).Select(j => j.Job).ToList();
        Thread.Sleep(1000);
        child.Signal(2);
        var (code, _, e) = child.Wait(TimeSpan.FromSeconds(60));
        Assert.Equal(130, code);
        var array = jobs[0].Split('_')[0];
        Assert.Contains($"cancelled Slurm job(s) {array} (scancel)", e);
        Assert.True(SpinWait.SpinUntil(() => SlurmQueue.Active(jobs).Count == 0, TimeSpan.FromSeconds(30)), "jobs still in squeue: " + string.Join(", ", SlurmQueue.Active(jobs)));
    }

    [Fact]
    public void Ctrl_c_stops_local_worker_processes_and_what_they_started()
    {
        var models = Models();
        var slow = Script("sleep 117");   // a duration no other test uses: pgrep finds these sleeps
        var output = _dir.File("parallel-cancelled");
        var units = Path.Combine(output + ".work", "processes", "ingredients");
        using var child = new SoupChild(Greedy(models, slow, output, "--parallel", "2"));
        Assert.True(SpinWait.SpinUntil(() => Directory.Exists(units) && Directory.EnumerateFiles(units, "*.unit.json").Count() == 2 && Running(slow) >= 2,
            TimeSpan.FromSeconds(60)), "the workers did not start");
        child.Signal(2);
        var (code, _, e) = child.Wait(TimeSpan.FromSeconds(60));
        Assert.Equal(130, code);
        Assert.Contains("stopped 2 worker process(es)", e);
        Assert.True(SpinWait.SpinUntil(() => Running(slow) == 0 && Running("sleep 117") == 0, TimeSpan.FromSeconds(10)), "evaluator processes were left running");
    }

    /// <summary>How many processes run <paramref name="script"/> (pgrep -f).</summary>
    static int Running(string script)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("pgrep") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-f");
        psi.ArgumentList.Add(script);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    [SlurmFact]
    public void Eval_through_slurm_gives_the_local_score()
    {
        var models = Models();
        var script = Script();
        var (code, local, e) = Soup("eval", models[1], "--eval-cmd", $"sh {script} {{model}}", "--json");
        Assert.True(code == 0, e);
        var result = _dir.File("score.json");
        var (code2, remote, e2) = Soup(["eval", models[1], "--eval-cmd", $"sh {script} {{model}}", "--json", "--result-file", result, .. Slurm]);
        Assert.True(code2 == 0, e2);
        Assert.Equal(local, remote);
        Assert.Equal(local.Trim(), File.ReadAllText(result).Trim());
    }

    [Fact]
    public void Slurm_options_without_the_slurm_executor_are_refused()
    {
        var (code, _, e) = Soup(Greedy(Models(), Script(), _dir.File("x"), "--slurm-partition", "gpu"));
        Assert.Equal(2, code);
        Assert.Contains("go with --executor slurm", e);
        var (code2, _, e2) = Soup(Greedy(Models(), Script(), _dir.File("y"), "--executor", "cloud"));
        Assert.Equal(2, code2);
        Assert.Contains("'cloud' is not inprocess, processes or slurm", e2);
    }
}
