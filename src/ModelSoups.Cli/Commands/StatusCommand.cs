using System.CommandLine;
using ModelSoups.Execution.Slurm;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup status DIR</c>: the Slurm jobs submitted for an output folder (a sweep's DIR, a greedy soup's DIR or
/// DIR.work): each unit's last job, its state (from squeue, sacct where there is accounting, and the result and
/// exit files), and its log. Rerunning the command that submitted them continues: finished units are kept, queued
/// and running ones are waited for, failed ones are resubmitted.
/// </summary>
public static class StatusCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "The output folder of soup finetune or soup greedy (or the greedy work folder DIR.work)." };
        var command = new Command("status", "Show the Slurm jobs of an output folder: unit, job id, state, log.") { dir };
        command.SetAction(parse => Execute(parse));
        return command;

        int Execute(ParseResult parse)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var given = Path.TrimEndingDirectorySeparator(Path.GetFullPath(parse.GetValue(dir)!));
            var state = new[] { Path.Combine(given, TorchSharp.Training.FineTuneSweep.WorkFolderName), given, given + ".work" }
                .FirstOrDefault(s => File.Exists(SlurmJobRecords.PathIn(s)))
                ?? throw new ModelSoupsException("no Slurm jobs were submitted for this folder (no work/slurm/jobs.jsonl here or in DIR.work).", given);
            var rows = SlurmExecutor.Status(state);
            stdout.WriteLine($"{"unit",-28} {"job",-12} {"try",3}  state");
            foreach (var (unit, last, s) in rows)
                stdout.WriteLine($"{unit,-28} {last.JobId,-12} {last.Number,3}  {s}  {last.Log}");
            int open = rows.Count(r => r.State is "PENDING" or "RUNNING");
            stdout.WriteLine($"{rows.Count} unit(s), {open} queued or running; rerun the command that submitted them to wait, collect and resubmit failed ones.");
            return 0;
        }
    }
}
