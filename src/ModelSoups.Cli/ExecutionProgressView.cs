using ModelSoups.Execution;
using Spectre.Console;

namespace ModelSoups.Cli;

/// <summary>
/// Shows an executor's progress: one line each time the counts change — queued / running / done / failed, with the
/// job ids of the units still open — and every note (retries, adopted jobs, scancel). Coloured on a terminal
/// (Spectre.Console), plain when piped.
/// </summary>
sealed class ExecutionProgressView
{
    readonly IAnsiConsole _console;
    readonly string _executor;
    string? _last;

    /// <summary>Writes to <paramref name="stderr"/>; colours when <paramref name="interactive"/>.</summary>
    public ExecutionProgressView(TextWriter stderr, bool interactive, string executor)
    {
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stderr),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        _console.Profile.Width = 4096;   // never wrap: one event, one line
        _executor = executor;
    }

    /// <summary>Renders one report.</summary>
    public void Report(ExecutionProgress p)
    {
        lock (_console)
        {
            var open = p.Units.Where(u => u.State is UnitState.Queued or UnitState.Running && u.JobId is not null)
                .Select(u => $"{u.Id} {u.JobId}{(u.State == UnitState.Running ? "" : " (queued)")}").ToList();
            var failed = p.Units.Where(u => u.State == UnitState.Failed).Select(u => u.Id).ToList();
            int reused = p.Units.Count(u => u.Reused);
            var line = $"[bold]{Markup.Escape(_executor)} {Markup.Escape(p.Batch)}[/]: {p.Count(UnitState.Waiting) + p.Count(UnitState.Queued)} queued, " +
                $"[blue]{p.Count(UnitState.Running)} running[/], [green]{p.Count(UnitState.Done)} done[/]{(reused > 0 ? $" ({reused} already before)" : "")}, " +
                $"{(failed.Count > 0 ? "[red]" : "")}{failed.Count} failed{(failed.Count > 0 ? "[/]" : "")}" +
                (open.Count > 0 ? $"  [dim]{Markup.Escape(string.Join(", ", open.Take(8)))}{(open.Count > 8 ? ", …" : "")}[/]" : "") +
                (failed.Count > 0 ? $"  [red]failed: {Markup.Escape(string.Join(", ", failed))}[/]" : "");
            if (line != _last)
            {
                _console.MarkupLine(line);
                _last = line;
            }
            if (p.Note is not null) _console.MarkupLine($"[yellow]{Markup.Escape(_executor)}: {Markup.Escape(p.Note)}[/]");
        }
    }
}
