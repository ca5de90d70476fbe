using System.Globalization;
using System.Text;
using ModelSoups.Evaluation;

namespace ModelSoups.Execution.Slurm;

/// <summary>
/// The batch script of one <c>sbatch --array</c> job: task <c>i</c> runs <c>soup __worker --unit FOLDER/units/i.json</c>
/// and writes its exit code to <c>FOLDER/task-i.exit</c>; its stdout and stderr go to <c>FOLDER/task-i.out|.err</c>.
/// Every option is an <c>#SBATCH</c> line, so <c>sbatch FOLDER/job.sbatch</c> by hand submits the same job (finished
/// units exit at once). Pure text: no I/O here.
/// </summary>
public static class SlurmScript
{
    /// <summary>The script's file name in its batch folder.</summary>
    public const string FileName = "job.sbatch";

    /// <summary>The unit file of task <paramref name="index"/>.</summary>
    public static string UnitFile(string folder, int index) => Path.Combine(folder, "units", index.ToString(CultureInfo.InvariantCulture) + ".json");

    /// <summary>stderr of task <paramref name="index"/>.</summary>
    public static string ErrorLog(string folder, int index) => Path.Combine(folder, $"task-{index.ToString(CultureInfo.InvariantCulture)}.err");

    /// <summary>stdout of task <paramref name="index"/>.</summary>
    public static string OutputLog(string folder, int index) => Path.Combine(folder, $"task-{index.ToString(CultureInfo.InvariantCulture)}.out");

    /// <summary>The file task <paramref name="index"/> writes its exit code into.</summary>
    public static string ExitFile(string folder, int index) => Path.Combine(folder, $"task-{index.ToString(CultureInfo.InvariantCulture)}.exit");

    /// <summary><c>0-K</c> or <c>0-K%N</c> for <paramref name="tasks"/> tasks (just <c>0</c> for one).</summary>
    public static string ArraySpec(int tasks, int? maxParallel)
    {
        if (tasks < 1) throw new ArgumentOutOfRangeException(nameof(tasks), tasks, "an array needs at least one task");
        var range = tasks == 1 ? "0" : $"0-{(tasks - 1).ToString(CultureInfo.InvariantCulture)}";
        return maxParallel is { } n && n < tasks ? $"{range}%{n.ToString(CultureInfo.InvariantCulture)}" : range;
    }

    /// <summary>
    /// A value on an <c>#SBATCH</c> line: as is when it is plain, else in double quotes with <c>\</c> and <c>"</c>
    /// escaped by a backslash (sbatch reads directive lines with that quoting).
    /// </summary>
    public static string DirectiveValue(string value)
    {
        bool plain = value.Length > 0 && value.All(c => !char.IsWhiteSpace(c) && c is not ('"' or '\'' or '\\' or '#'));
        return plain ? value : "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>The script text.</summary>
    /// <param name="jobName">The job's name (<c>soup-finetune</c>).</param>
    /// <param name="folder">The batch folder (absolute): units, logs and exit files live here.</param>
    /// <param name="tasks">Number of array tasks (units).</param>
    /// <param name="unitIds">The unit id of each task, written as a comment.</param>
    /// <param name="worker">How to start this soup build.</param>
    /// <param name="workingDirectory">Where the tasks run (the client's current directory).</param>
    /// <param name="options">The sbatch options.</param>
    public static string Generate(string jobName, string folder, int tasks, IReadOnlyList<string> unitIds, WorkerCommand worker, string workingDirectory, SlurmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (unitIds.Count != tasks) throw new ArgumentException("one unit id per task", nameof(unitIds));
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append("# Written by soup (ModelSoups): one array task per unit of work; task i runs units/i.json.\n");
        s.Append("# Resubmit by hand with: sbatch ").Append(ShellQuote.Quote(Path.Combine(folder, FileName))).Append(" (units already done exit at once).\n");
        for (int i = 0; i < tasks; i++) s.Append("#   task ").Append(i.ToString(CultureInfo.InvariantCulture)).Append(": ").Append(unitIds[i]).Append('\n');
        void Directive(string name, string? value)
        {
            if (value is null) return;
            s.Append("#SBATCH ").Append(name).Append('=').Append(DirectiveValue(value)).Append('\n');
        }
        Directive("--job-name", jobName);
        Directive("--array", ArraySpec(tasks, options.MaxParallel));
        Directive("--output", Path.Combine(folder, "task-%a.out"));
        Directive("--error", Path.Combine(folder, "task-%a.err"));
        Directive("--chdir", workingDirectory);
        Directive("--ntasks", "1");
        Directive("--partition", options.Partition);
        Directive("--account", options.Account);
        Directive("--time", options.Time);
        Directive("--cpus-per-task", options.Cpus?.ToString(CultureInfo.InvariantCulture));
        Directive("--mem", options.Memory);
        Directive("--gres", options.Gres);
        foreach (var extra in options.ExtraArguments)
            s.Append("#SBATCH ").Append(DirectiveValue(extra)).Append('\n');
        s.Append('\n');
        s.Append("task=\"${SLURM_ARRAY_TASK_ID:?this script is a job array: submit it with sbatch}\"\n");
        s.Append("cd ").Append(ShellQuote.Quote(workingDirectory)).Append(" || exit 1\n");
        foreach (var a in worker.Prefix) s.Append(ShellQuote.Quote(a)).Append(' ');
        s.Append(WorkerCommand.Subcommand).Append(" --unit ").Append(ShellQuote.Quote(Path.Combine(folder, "units") + "/")).Append("\"$task\".json\n");
        s.Append("rc=$?\n");
        // The exit code beside the logs: clusters without accounting (no sacct) forget it once the job leaves squeue.
        s.Append("echo \"$rc\" > ").Append(ShellQuote.Quote(folder + "/task-")).Append("\"$task\".exit\n");
        s.Append("exit \"$rc\"\n");
        return s.ToString();
    }
}
