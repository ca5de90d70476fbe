using Spectre.Console;

namespace ModelSoups.Cli.Progress;

/// <summary>
/// How a command shows what it is doing on stderr while one library call runs: on a terminal a Spectre.Console live
/// progress display (one bar per task, messages printed above it, cleared when the call returns); otherwise plain
/// lines, throttled where the events are frequent, so logs and tests read the same text on every run.
/// </summary>
public sealed class ProgressView
{
    readonly TextWriter _plain;
    readonly ProgressContext? _live;
    readonly IAnsiConsole? _console;

    ProgressView(TextWriter plain, ProgressContext? live, IAnsiConsole? console)
    {
        _plain = plain;
        _live = live;
        _console = console;
    }

    /// <summary>True when the view draws live bars (a terminal); false for plain lines.</summary>
    public bool IsLive => _live is not null;

    /// <summary>
    /// Runs <paramref name="work"/> with a view on <paramref name="stderr"/>: live when <see cref="Terminal.Is"/> says
    /// it is a terminal, plain lines otherwise.
    /// </summary>
    public static T Run<T>(TextWriter stderr, Func<ProgressView, T> work) => Run(stderr, Terminal.ConsoleFor(stderr), work);

    /// <summary>Runs <paramref name="work"/> with a live view on <paramref name="console"/>, or with plain lines on <paramref name="stderr"/> when it is null.</summary>
    public static T Run<T>(TextWriter stderr, IAnsiConsole? console, Func<ProgressView, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (console is null) return work(new ProgressView(stderr, null, null));
        return console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context => work(new ProgressView(stderr, context, console)));
    }

    /// <summary>A message: above the bars on a terminal (in <paramref name="colour"/> when given), a plain line otherwise.</summary>
    public void Line(string text, Color? colour = null)
    {
        if (_console is null)
        {
            _plain.WriteLine(text);
            return;
        }
        var escaped = Markup.Escape(text);
        _console.MarkupLine(colour is { } c ? $"[{c.ToMarkup()}]{escaped}[/]" : escaped);
    }

    /// <summary>
    /// A message written in Spectre.Console markup (<c>[green]3 done[/]</c>, several colours in one line): drawn above the
    /// bars on a terminal; the same text without its markup as a plain line otherwise.
    /// </summary>
    public void MarkupLine(string markup)
    {
        ArgumentNullException.ThrowIfNull(markup);
        if (_console is null) _plain.WriteLine(Markup.Remove(markup));
        else _console.MarkupLine(markup);
    }

    /// <summary>A new bar (live views only; null for plain lines).</summary>
    internal ProgressTask? AddBar(string description, double maxValue) =>
        _live?.AddTask(Markup.Escape(description), autoStart: true, maxValue: Math.Max(1, maxValue));

    /// <summary>Sets a bar's text (escaped: names may hold brackets).</summary>
    internal static void Describe(ProgressTask bar, string description) => bar.Description = Markup.Escape(description);
}
