using System.CommandLine;
using System.Runtime.InteropServices;

namespace ModelSoups.Cli;

/// <summary>Builds the `soup` command tree and maps user errors to exit code 2.</summary>
public static class SoupApp
{
    /// <summary>Runs one command line; <paramref name="cancel"/> (a worker's own signal) stops it too.</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null, CancellationToken cancel = default)
    {
        // Run as the program (no writers given): this process owns SIGINT, SIGTERM and SIGHUP.
        bool ownsSignals = stdout is null && stderr is null;
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var root = new RootCommand("soup: model soups and model merging for Hugging Face checkpoints (safetensors, PyTorch .bin/.pt/.pth).");
        root.Subcommands.Add(Commands.InspectCommand.Create());
        root.Subcommands.Add(Commands.MergeCommand.Create());
        root.Subcommands.Add(Commands.ConvertCommand.Create());
        root.Subcommands.Add(Commands.EvalCommand.Create());
        root.Subcommands.Add(Commands.GreedyCommand.Create());
        root.Subcommands.Add(Commands.ReportCommand.Create());
        root.Subcommands.Add(Commands.FinetuneCommand.Create());
        root.Subcommands.Add(Commands.LearnCommand.Create());
        root.Subcommands.Add(Commands.DemoCommand.Create());
        root.Subcommands.Add(Commands.SparseCommand.Create());
        root.Subcommands.Add(Commands.AlignCommand.Create());
        root.Subcommands.Add(Commands.PleasCommand.Create());
        root.Subcommands.Add(Commands.StatusCommand.Create());
        root.Subcommands.Add(Commands.WorkerSubcommand.Create());
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var signals = ownsSignals ? SignalHandlers(interrupt) : null;
        try
        {
            var parse = root.Parse(args);
            var config = new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                // Signals are ours (below), so a command always unwinds: workers stop, evaluator groups are
                // killed, temporary folders are removed, locks released.
                ProcessTerminationTimeout = null,
            };
            return parse.InvokeAsync(config, interrupt.Token).GetAwaiter().GetResult();
        }
        catch (ModelSoups.Execution.WorkSubmittedException e)
        {
            // --no-wait: the jobs are queued; not an error.
            stdout.WriteLine($"soup: {Printable(e.Message)}");
            return 0;
        }
        catch (ModelSoups.Execution.WorkFailedException e)
        {
            // Units of work failed (their logs are named); the others ran to the end: exit code 1, as for faults of the machine.
            stderr.WriteLine($"soup: {Printable(e.UserMessage)}");
            return 1;
        }
        catch (EnvironmentFaultException e)
        {
            // The machine, not the input (a full disk, an input rewritten while read): exit code 1.
            stderr.WriteLine($"soup: {Printable(e.UserMessage)}");
            return 1;
        }
        catch (ModelSoupsException e)
        {
            stderr.WriteLine($"soup: {Printable(e.UserMessage)}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            // Outputs are written to temporary folders and renamed only when complete, and every
            // temporary folder is removed while unwinding: nothing half-written is left behind.
            var signal = signals?.Received;
            stderr.WriteLine($"soup: cancelled{(signal is { } sg ? $" ({sg})" : "")}; nothing was written to the destination");
            return signal switch { PosixSignal.SIGTERM => 143, PosixSignal.SIGHUP => 129, _ => 130 };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The environment, not the input: a full disk, a read-only or missing folder.
            stderr.WriteLine($"soup: {Printable(e.Message)}");
            return 2;
        }
        finally
        {
            signals?.Dispose();
        }
    }

    /// <summary>
    /// SIGINT, SIGTERM and SIGHUP cancel the running command instead of killing the process, so it can clean up
    /// and print one line; a second signal while it unwinds ends the process at once.
    /// </summary>
    static SignalState SignalHandlers(CancellationTokenSource interrupt)
    {
        var state = new SignalState();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
            state.Registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                if (state.Received is not null) return;   // second signal: default action (terminate)
                state.Received = context.Signal;
                context.Cancel = true;
                interrupt.Cancel();
            }));
        return state;
    }

    sealed class SignalState : IDisposable
    {
        public List<PosixSignalRegistration> Registrations { get; } = [];
        public PosixSignal? Received { get; set; }

        public void Dispose() => Registrations.ForEach(r => r.Dispose());
    }

    /// <summary>One line, with control characters (terminal escapes in a tensor name, say) shown escaped.</summary>
    static string Printable(string message) => ModelSoups.Tensors.PrintableName.Of(OneLine(message));

    static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
