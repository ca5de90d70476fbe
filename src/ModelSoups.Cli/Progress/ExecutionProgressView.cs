using ModelSoups.Execution;
using Spectre.Console;

namespace ModelSoups.Cli.Progress;

/// <summary>
/// Shows an executor's progress (<see cref="ExecutionProgress"/>) in the command's <see cref="ProgressView"/>: one line
/// each time the counts change — queued / running / done / failed, with the job ids of the units still open — and every
/// note (retries, adopted jobs, scancel). On a terminal the lines are coloured and sit above the command's live bars
/// (one console draws both); otherwise they are plain lines, one per event.
/// </summary>
public sealed class ExecutionProgressView
{
    readonly ProgressView _view;
    readonly string _executor;
    readonly object _gate = new();
    string? _last;

    /// <summary>Reports into <paramref name="view"/>, naming the lines after <paramref name="executor"/> (processes, slurm).</summary>
    public ExecutionProgressView(ProgressView view, string executor)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(executor);
        _view = view;
        _executor = executor;
    }

    /// <summary>Renders one report (executors call it from their own threads).</summary>
    public void Report(ExecutionProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        lock (_gate)
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
                _view.MarkupLine(line);
                _last = line;
            }
            if (p.Note is not null) _view.Line($"{_executor}: {p.Note}", Color.Yellow);
        }
    }
}
