using System.CommandLine;
using ModelSoups.Execution;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup __worker --unit FILE</c> (hidden): what a local worker process or a Slurm task runs. Reads one
/// <see cref="WorkUnit"/>, runs its <c>soup</c> arguments in its working directory (the command writes the result
/// file atomically), and exits with that command's code — 1 when it claimed success without the result file.
/// A unit whose result already exists exits 0 at once (a hand-resubmitted script redoes nothing).
/// </summary>
public static class WorkerSubcommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var unit = new Option<string>("--unit") { Description = "The work unit file.", Required = true };
        var command = new Command(Execution.WorkerCommand.Subcommand, "Run one unit of work (used by --executor processes and slurm).") { unit };
        command.Hidden = true;
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var work = WorkUnit.Read(parse.GetValue(unit)!);
            if (work.IsDone)
            {
                stdout.WriteLine($"unit {work.Id}: already done ({work.ResultFile})");
                return 0;
            }
            if (!Directory.Exists(work.WorkingDirectory))
                throw new ModelSoupsException("the unit's working directory does not exist on this node; the output folder and the inputs must be on a file system every node sees.", work.WorkingDirectory);
            Directory.SetCurrentDirectory(work.WorkingDirectory);
            stderr.WriteLine($"unit {work.Id}: soup {string.Join(' ', work.Arguments.Select(Evaluation.ShellQuote.Quote))}");
            int code = SoupApp.Run([.. work.Arguments], stdout, stderr, cancel);
            if (code == 0 && !work.IsDone)
            {
                stderr.WriteLine($"soup: unit {work.Id}: the command finished without writing its result file {work.ResultFile}");
                return 1;
            }
            return code;
        }
    }
}
