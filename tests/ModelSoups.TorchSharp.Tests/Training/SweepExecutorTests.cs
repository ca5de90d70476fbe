using ModelSoups.Cli;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.TorchSharp.Tests.Training;

/// <summary>
/// <c>soup finetune</c> with its runs as units of work: local worker processes (<c>--parallel</c>) and a real
/// single-node Slurm (<see cref="SlurmFactAttribute"/>) give the ingredients the in-process sweep gives, bit for bit.
/// </summary>
public sealed class SweepExecutorTests : IDisposable
{
    readonly TempFolder _dir = new();
    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    // Three runs of the quick random sweep (seeded: the same hyperparameters every time), 4 steps each on 64 images.
    string[] Sweep(string data, string output, params string[] more) =>
        ["finetune", "--model", "mlp", "--data", data, "--runs", "3", "--subset", "64", "--steps", "4", "--out", output, .. more];

    static readonly string[] Runs = ["run-000", "run-001", "run-002"];

    /// <summary>Asserts the two sweeps wrote the same weights and records (all but the wall-clock seconds).</summary>
    static void AssertSameIngredients(string expected, string actual)
    {
        foreach (var run in Runs)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(expected, run, "model.safetensors")), File.ReadAllBytes(Path.Combine(actual, run, "model.safetensors")));
            var a = IngredientRecord.TryRead(Path.Combine(expected, run))!;
            var b = IngredientRecord.TryRead(Path.Combine(actual, run))!;
            Assert.Equal(a with { Seconds = 0 }, b with { Seconds = 0, Curve = a.Curve });
            Assert.Equal(a.Curve, b.Curve);
        }
    }

    string InProcess(string data)
    {
        var local = _dir["local"];
        var (code, _, e) = Soup(Sweep(data, local));
        Assert.True(code == 0, e);
        return local;
    }

    [Fact]
    public void A_sweep_in_local_worker_processes_gives_the_in_process_ingredients_bit_for_bit_and_resumes_from_its_result_files()
    {
        var data = SyntheticImages.WriteFile(_dir);
        var local = InProcess(data);
        var output = _dir["parallel"];
        var (code, o, e) = Soup(Sweep(data, output, "--parallel", "2"));
        Assert.True(code == 0, e);
        AssertSameIngredients(local, output);
        Assert.Contains("processes finetune: 0 queued, 0 running, 3 done, 0 failed", e);
        Assert.True(File.Exists(Path.Combine(output, "work", "processes", "finetune", "run-001.err")));

        // A run whose result file is gone is the only one redone.
        File.Delete(Path.Combine(output, "run-001", IngredientRecord.FileName));
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(output, "run-000", "model.safetensors"));
        var (code2, o2, e2) = Soup(Sweep(data, output, "--parallel", "2"));
        Assert.True(code2 == 0, e2);
        Assert.Contains("(2 already before)", e2);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(output, "run-000", "model.safetensors")));
        Assert.Contains("run-000", o2);
        Assert.Contains("(resumed)", o2);
        AssertSameIngredients(local, output);
        _ = o;
    }

    [SlurmFact]
    public void A_sweep_through_slurm_gives_the_in_process_ingredients_bit_for_bit()
    {
        var data = SyntheticImages.WriteFile(_dir);
        var local = InProcess(data);
        // Spaces and both quotes in the output path: the batch script's #SBATCH lines and body must quote them.
        var output = _dir["slurm out's \"sweep\""];
        var (code, _, e) = Soup(Sweep(data, output, "--executor", "slurm", "--slurm-allow-local", "--slurm-poll", "0.3", "--slurm-cpus", "1"));
        Assert.True(code == 0, e);
        AssertSameIngredients(local, output);
        var batch = Path.Combine(output, "work", "slurm", "finetune-001");
        Assert.Contains("#SBATCH --array=0-2", File.ReadAllText(Path.Combine(batch, "job.sbatch")));
        Assert.Contains("#SBATCH --cpus-per-task=1", File.ReadAllText(Path.Combine(batch, "job.sbatch")));
        foreach (var i in new[] { 0, 1, 2 })
        {
            Assert.True(File.Exists(Path.Combine(batch, $"task-{i}.err")), $"task {i} wrote no log where the #SBATCH --error line says");
            Assert.Equal("0", File.ReadAllText(Path.Combine(batch, $"task-{i}.exit")).Trim());
        }
        Assert.Contains("slurm finetune: 0 queued, 0 running, 3 done, 0 failed", e);

        // soup status reads the job records back.
        var (sc, so, se) = Soup("status", output);
        Assert.True(sc == 0, se);
        Assert.Contains("run-002", so);
        Assert.Contains("DONE (result written)", so);
    }

    [SlurmFact]
    public void A_node_local_output_is_refused_for_slurm_before_anything_is_trained()
    {
        var output = _dir["x"];   // under the temp folder: node-local
        var (code, _, e) = Soup(Sweep(SyntheticImages.WriteFile(_dir), output, "--executor", "slurm"));
        Assert.Equal(2, code);
        Assert.Contains("node-local", e);
        Assert.Contains("--slurm-allow-local", e);
        Assert.Single(e.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(output, "_init")));
    }
}
