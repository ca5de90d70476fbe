using System.CommandLine;

namespace ModelSoups.Cli;

/// <summary>Builds the `soup` command tree and maps user errors to exit code 2.</summary>
public static class SoupApp
{
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var root = new RootCommand("soup: model soups and model merging for Hugging Face safetensors checkpoints.");
        root.Subcommands.Add(Commands.InspectCommand.Create());
        root.Subcommands.Add(Commands.MergeCommand.Create());
        root.Subcommands.Add(Commands.EvalCommand.Create());
        root.Subcommands.Add(Commands.GreedyCommand.Create());
        root.Subcommands.Add(Commands.ReportCommand.Create());
        root.Subcommands.Add(Commands.FinetuneCommand.Create());
        root.Subcommands.Add(Commands.LearnCommand.Create());
        root.Subcommands.Add(Commands.DemoCommand.Create());
        root.Subcommands.Add(Commands.SparseCommand.Create());
        root.Subcommands.Add(Commands.AlignCommand.Create());
        root.Subcommands.Add(Commands.PleasCommand.Create());
        try
        {
            var parse = root.Parse(args);
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (ModelSoupsException e)
        {
            stderr.WriteLine($"soup: {e.UserMessage}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C: outputs are written to temporary folders and renamed only when complete,
            // so nothing half-written is left behind.
            stderr.WriteLine("soup: cancelled; nothing was written to the destination");
            return 130;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The environment, not the input: a full disk, a read-only or missing folder.
            stderr.WriteLine($"soup: {OneLine(e.Message)}");
            return 2;
        }
    }

    static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
