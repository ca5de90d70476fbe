using System.Diagnostics;
using ModelSoups.Execution;
using ModelSoups.Execution.Slurm;

namespace ModelSoups.Tests.Execution;

public sealed class SlurmScriptTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1, null, "0")]
    [InlineData(3, null, "0-2")]
    [InlineData(10, 3, "0-9%3")]
    // %N at or above the task count limits nothing: left out.
    [InlineData(4, 4, "0-3")]
    [InlineData(4, 9, "0-3")]
    [InlineData(2, 1, "0-1%1")]
    public void Array_spec_covers_every_task_and_limits_with_percent_n(int tasks, int? max, string expected) =>
        Assert.Equal(expected, SlurmScript.ArraySpec(tasks, max));

    [Fact]
    public void Array_spec_of_no_tasks_is_a_bug() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SlurmScript.ArraySpec(0, null));

    [Theory]
    [InlineData("/plain/path-1_x.y", "/plain/path-1_x.y")]
    [InlineData("/with space/x", "\"/with space/x\"")]
    [InlineData("/it's", "\"/it's\"")]
    [InlineData("/say \"hi\"", "\"/say \\\"hi\\\"\"")]
    [InlineData("/back\\slash", "\"/back\\\\slash\"")]
    [InlineData("/hash#x", "\"/hash#x\"")]
    [InlineData("", "\"\"")]
    public void Directive_values_are_plain_or_double_quoted_with_backslash_escapes(string value, string expected) =>
        Assert.Equal(expected, SlurmScript.DirectiveValue(value));

    static SlurmOptions AllOptions => new()
    {
        Partition = "gpu", Time = "2:00:00", Cpus = 4, Memory = "16G", Gres = "gpu:1", Account = "proj42", MaxParallel = 2,
        ExtraArguments = ["--qos=high", "--constraint=a100 80gb"],
    };

    [Fact]
    public void Every_option_is_one_sbatch_directive_before_the_body()
    {
        var folder = "/shared/out dir/work/slurm/finetune-001";
        var text = SlurmScript.Generate("soup-finetune", folder, 3, ["run-000", "run-001", "run-002"], new WorkerCommand(["/usr/bin/dotnet", "/opt/soup/soup.dll"]), "/home/me", AllOptions);
        var directives = text.Split('\n').Where(l => l.StartsWith("#SBATCH ", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[]
        {
            "#SBATCH --job-name=soup-finetune",
            "#SBATCH --array=0-2%2",
            "#SBATCH --output=\"/shared/out dir/work/slurm/finetune-001/task-%a.out\"",
            "#SBATCH --error=\"/shared/out dir/work/slurm/finetune-001/task-%a.err\"",
            "#SBATCH --chdir=/home/me",
            "#SBATCH --ntasks=1",
            "#SBATCH --partition=gpu",
            "#SBATCH --account=proj42",
            "#SBATCH --time=2:00:00",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --mem=16G",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --qos=high",
            "#SBATCH \"--constraint=a100 80gb\"",
        }, directives);
        // sbatch stops reading directives at the first command: all of them come before it.
        var lines = text.Split('\n');
        int lastDirective = Array.FindLastIndex(lines, l => l.StartsWith("#SBATCH", StringComparison.Ordinal));
        int firstCommand = Array.FindIndex(lines, l => l.Length > 0 && !l.StartsWith('#'));
        Assert.True(lastDirective < firstCommand);
        Assert.StartsWith("#!/bin/bash\n", text);
        Assert.Contains("#   task 1: run-001\n", text);
    }

    [Fact]
    public void Unset_options_write_no_directive()
    {
        var text = SlurmScript.Generate("soup-eval", "/s/b", 1, ["eval-1"], new WorkerCommand(["/opt/soup"]), "/w", new SlurmOptions());
        Assert.DoesNotContain("--partition", text);
        Assert.DoesNotContain("--gres", text);
        Assert.DoesNotContain("--mem", text);
        Assert.Contains("#SBATCH --array=0\n", text);
    }

    [Fact]
    public void The_script_runs_the_worker_on_its_task_s_unit_and_records_the_exit_code_even_with_quotes_and_spaces_in_paths()
    {
        // A batch folder and a worker whose paths hold spaces, single and double quotes and a dollar sign.
        var root = Path.Combine(_dir.Path, "it's a \"test\" $HOME");
        var folder = Path.Combine(root, "work", "slurm", "eval-001");
        Directory.CreateDirectory(folder);
        var argsFile = Path.Combine(root, "args.txt");
        var worker = Path.Combine(root, "fake soup's worker");
        File.WriteAllText(worker, $"#!/bin/sh\nprintf '%s\\n' \"$PWD\" \"$@\" > {ModelSoups.Evaluation.ShellQuote.Quote(argsFile)}\nexit 5\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(worker, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var script = Path.Combine(folder, SlurmScript.FileName);
        File.WriteAllText(script, SlurmScript.Generate("soup-eval", folder, 3, ["a", "b", "c"], new WorkerCommand([worker, "--flag with space"]), root, new SlurmOptions()));

        var psi = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.Environment["SLURM_ARRAY_TASK_ID"] = "2";
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(5, p.ExitCode);
        Assert.Equal(new[] { root, "--flag with space", "__worker", "--unit", SlurmScript.UnitFile(folder, 2) }, File.ReadAllLines(argsFile));
        Assert.Equal("5", File.ReadAllText(SlurmScript.ExitFile(folder, 2)).Trim());
    }

    [Fact]
    public void Run_outside_slurm_the_script_refuses_without_running_the_worker()
    {
        var folder = Path.Combine(_dir.Path, "b");
        Directory.CreateDirectory(folder);
        var script = Path.Combine(folder, SlurmScript.FileName);
        File.WriteAllText(script, SlurmScript.Generate("soup-eval", folder, 1, ["a"], new WorkerCommand(["/bin/false"]), _dir.Path, new SlurmOptions()));
        var psi = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.Environment.Remove("SLURM_ARRAY_TASK_ID");
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("submit it with sbatch", err);
        Assert.False(File.Exists(SlurmScript.ExitFile(folder, 0)));
    }

    [Theory]
    [InlineData("--slurm-cpus must be at least 1", 0, null, null)]
    [InlineData("--slurm-max-parallel must be at least 1", null, 0, null)]
    [InlineData("--slurm-time", null, null, "1 hour")]
    public void Bad_options_are_user_errors_naming_the_flag(string expected, int? cpus, int? max, string? time)
    {
        var e = Assert.Throws<ModelSoupsException>(() => new SlurmOptions { Cpus = cpus, MaxParallel = max, Time = time }.Validate());
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void An_sbatch_arg_that_is_not_an_option_is_refused() =>
        Assert.Contains("--sbatch-arg", Assert.Throws<ModelSoupsException>(() => new SlurmOptions { ExtraArguments = ["qos=high"] }.Validate()).Message);
}
