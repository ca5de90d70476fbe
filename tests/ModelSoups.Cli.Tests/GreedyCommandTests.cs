using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Cli;
using ModelSoups.Engine;
using ModelSoups.Recipes;

namespace ModelSoups.Cli.Tests;

public sealed class GreedyCommandTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // a.weight[0] of each ingredient; score = −(w − 1)². Ranking: m3 (0.9), m1 (1.2), m0 (0.5), m2 (2.0), m4 (−3).
    // Soup {m3} −0.01; +m1 → 1.05, −0.0025: accepted; +m0 → 0.8667: rejected; +m2 → 1.3667: rejected; +m4: rejected.
    static readonly float[] Weights = [0.5f, 1.2f, 2.0f, 0.9f, -3f];

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    string[] Models() => Weights.Select((w, i) => SoupFixtures.Folder(_dir.Path, $"m{i}", w, seed: i, count: 10 + i)).ToArray();

    string[] GreedyArgs(string[] models, string script, string output, params string[] more) =>
        ["greedy", "--models", .. models, "--eval-cmd", $"sh {script} {{model}}", "--out", output, "--threads", "1", .. more];

    static Dictionary<string, byte[]> Tensors(string path)
    {
        using var c = Checkpoint.Open(path);
        return c.Tensors.ToDictionary(p => p.Key, p => p.Value.GetBytes().ToArray());
    }

    [Fact]
    public void Greedy_soup_end_to_end_writes_the_soup_results_and_reports()
    {
        var models = Models();
        var log = _dir.File("calls.log");
        var script = SoupFixtures.Script(_dir.Path, log);
        var output = _dir.File("soup");
        var (code, o, e) = Soup(GreedyArgs(models, script, output, "--also", "uniform"));
        Assert.True(code == 0, e);
        Assert.Contains("greedy soup: 2 of 5 ingredients", o);
        Assert.Contains("[10/10] uniform soup", e);
        // 5 ingredients + 4 candidates + the uniform soup.
        Assert.Equal(10, File.ReadAllLines(log).Length);

        // The soup is soup merge --method linear of the members in join order (m3, m1).
        var linear = _dir.File("linear");
        MergeEngine.Run(QuickRecipe.Build("linear", [models[3], models[1]]), linear, new MergeOptions { Threads = 1, HashInputs = false });
        Assert.Equal(Tensors(linear), Tensors(output));
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
        var recipe = File.ReadAllText(Path.Combine(output, MergeEngine.RecipeFileName));
        Assert.Contains("greedy_soup:", recipe);
        Assert.Contains("candidate_score:", recipe);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        Assert.Equal([3, 1], doc.RootElement.GetProperty("members").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal([3, 1, 0, 2, 4], doc.RootElement.GetProperty("ranking").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(-0.0025, doc.RootElement.GetProperty("greedy_score").GetDouble(), 6);
        Assert.Equal(-0.01, doc.RootElement.GetProperty("ingredients")[3].GetProperty("score").GetDouble(), 6);
        // Uniform soup of all five: mean w = 0.32 → −0.4624.
        Assert.Equal(-0.4624, doc.RootElement.GetProperty("baselines")[0].GetProperty("score").GetDouble(), 5);
        Assert.True(File.Exists(Path.Combine(output, "report.html")));
        Assert.Contains("| Greedy soup (≥) | -0.0025 |", File.ReadAllText(Path.Combine(output, "report.md")));
        // Candidate folders were cleaned up; only the journal stays in the work folder.
        Assert.Equal(["journal.jsonl"], Directory.GetFileSystemEntries(output + ".work").Select(Path.GetFileName));

        // soup report regenerates the reports from results.json.
        File.Delete(Path.Combine(output, "report.md"));
        var (rc, ro, _) = Soup("report", output);
        Assert.Equal(0, rc);
        Assert.Contains("report.md", ro);
        Assert.True(File.Exists(Path.Combine(output, "report.md")));
    }

    [Fact]
    public void An_interrupted_run_resumes_without_reevaluating_and_gives_the_same_soup()
    {
        var models = Models();
        // Reference: uninterrupted, strict accept.
        var refDir = _dir.File("ref");
        Directory.CreateDirectory(refDir);
        var refScript = SoupFixtures.Script(refDir, Path.Combine(refDir, "calls.log"));
        Assert.Equal(0, Soup(GreedyArgs(models, refScript, Path.Combine(refDir, "soup"), "--accept", "gt")).Code);

        var log = _dir.File("calls.log");
        var script = SoupFixtures.Script(_dir.Path, log, failAt: 3);
        var output = _dir.File("soup");
        var (code, _, e) = Soup(GreedyArgs(models, script, output, "--accept", "gt", "--on-eval-error", "fail"));
        Assert.Equal(2, code);
        // Progress lines, then exactly one error line.
        Assert.Single(e.Split('\n'), l => l.StartsWith("soup:", StringComparison.Ordinal));
        Assert.Contains("exited with code 1", e.Trim().Split('\n')[^1]);
        Assert.False(Directory.Exists(output));

        // A different command with the same work folder is refused.
        var (code2, _, e2) = Soup(GreedyArgs(models, script, output, "--accept", "ge"));
        Assert.Equal(2, code2);
        Assert.Contains("journal from a different command", e2);

        // Rerun: the same script text minus the crash, the same command line.
        SoupFixtures.Script(_dir.Path, log);
        var (code3, o3, e3) = Soup(GreedyArgs(models, script, output, "--accept", "gt", "--on-eval-error", "fail"));
        Assert.True(code3 == 0, e3);
        Assert.Contains("evaluations: 7 run, 2 from the journal", o3);
        var calls = File.ReadAllLines(log);
        // Calls 1–2 (m0, m1) came before the crash, call 3 crashed (m2); none of m0/m1 again after it.
        Assert.Equal(3 + 7, calls.Length);
        Assert.DoesNotContain(calls.Skip(3), c => c == models[0] || c == models[1]);

        Assert.Equal(Tensors(Path.Combine(refDir, "soup")), Tensors(output));
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(refDir, "soup", "results.json")));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        foreach (var key in new[] { "members", "ranking", "trajectory", "ingredients", "greedy_score" })
            Assert.Equal(a.RootElement.GetProperty(key).GetRawText().Replace(refDir, _dir.Path), b.RootElement.GetProperty(key).GetRawText());
    }

    [Fact]
    public void Skip_leaves_a_failing_ingredient_out()
    {
        var models = Models();
        var script = SoupFixtures.Script(_dir.Path, _dir.File("calls.log"), failAt: 1);
        var output = _dir.File("soup");
        var (code, _, e) = Soup(GreedyArgs(models, script, output, "--on-eval-error", "skip"));
        Assert.True(code == 0, e);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        Assert.Equal([3, 1, 2, 4], doc.RootElement.GetProperty("ranking").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Contains("exited with code 1", doc.RootElement.GetProperty("ingredients")[0].GetProperty("error").GetString());
    }

    [Fact]
    public void Eval_prints_the_score_and_metrics()
    {
        var m = SoupFixtures.Folder(_dir.Path, "m", 0.5f, 1);
        var script = SoupFixtures.Script(_dir.Path, _dir.File("calls.log"));
        var (code, o, e) = Soup("eval", m, "--eval-cmd", $"sh {script} {{model}}");
        Assert.True(code == 0, e);
        Assert.Contains("score -0.25", o);
        Assert.Contains("  w 0.5", o);
    }

    [Fact]
    public void Evaluator_command_not_found_is_one_clear_error_and_nothing_is_written()
    {
        var models = Models();
        var output = _dir.File("soup");
        var (code, _, e) = Soup(["greedy", "--models", .. models, "--eval-cmd", "no-such-evaluator-xyz {model}", "--out", output]);
        Assert.Equal(2, code);
        Assert.Single(e.Trim().Split('\n'));
        Assert.Contains("not found", e);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Eval_of_a_missing_model_is_one_clear_error()
    {
        var (code, _, e) = Soup("eval", _dir.File("nope"), "--eval-cmd", "true {model}");
        Assert.Equal(2, code);
        Assert.Contains("does not exist", e);
        Assert.Single(e.Trim().Split('\n'));
    }

    [Fact]
    public void Greedy_with_a_missing_ingredient_is_one_clear_error()
    {
        var models = Models();
        var (code, _, e) = Soup(["greedy", "--models", models[0], _dir.File("missing"), "--eval-cmd", "true {model}", "--out", _dir.File("soup")]);
        Assert.Equal(2, code);
        Assert.Contains("missing", e);
        Assert.False(Directory.Exists(_dir.File("soup")));
    }

    [Fact]
    public void Greedy_with_an_ingredient_that_does_not_line_up_is_one_clear_error_before_any_evaluation()
    {
        // m1's a.weight has 6 elements in one dimension where m0's is [2, 3]: the run's one lineup check names both.
        var models = Models();
        var bad = _dir.File("flat");
        Directory.CreateDirectory(bad);
        ModelSoups.Formats.Safetensors.SafetensorsFile.Write(Path.Combine(bad, "model.safetensors"),
            [(new ModelSoups.Tensors.TensorInfo("a.weight", ModelSoups.Tensors.DType.F32, [6]), new byte[24])]);
        var log = _dir.File("calls.log");
        var output = _dir.File("soup");
        var (code, _, e) = Soup(GreedyArgs([models[0], bad], SoupFixtures.Script(_dir.Path, log), output));
        Assert.Equal(2, code);
        var line = Assert.Single(e.Trim().Split('\n'));
        Assert.StartsWith("soup: ", line);
        Assert.EndsWith($": tensor 'a.weight' is [6] in ingredient '{bad}' but [2, 3] in '{models[0]}'.", line);
        Assert.False(File.Exists(log));                   // no ingredient was evaluated
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void An_onnx_file_that_does_not_parse_is_one_clear_error()
    {
        var m = SoupFixtures.Folder(_dir.Path, "m", 0.5f, 1);
        File.WriteAllText(_dir.File("bad.onnx"), "this is not protobuf");
        var (code, _, e) = Soup("eval", m, "--onnx", _dir.File("bad.onnx"), "--data", Path.Combine(m, "model.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("bad.onnx", e);
        Assert.Single(e.Trim().Split('\n'));
    }
}
