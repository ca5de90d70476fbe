using Spectre.Console;

namespace ModelSoups.Cli.Progress;

/// <summary>
/// The one place that decides whether a command writes to a person at a terminal (live progress bars, colour, tables)
/// or to a file, a pipe or a test's writer (plain lines that logs and tests read), and the one place that makes the
/// Spectre.Console console a command draws on.
/// </summary>
public static class Terminal
{
    /// <summary>True when <paramref name="writer"/> is the process's own stderr or stdout and that stream is a terminal.</summary>
    public static bool Is(TextWriter writer) =>
        ReferenceEquals(writer, Console.Error) ? !Console.IsErrorRedirected
        : ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>
    /// A Spectre.Console console drawing on <paramref name="writer"/> (colours and cursor moves as the terminal
    /// supports them) when <see cref="Is"/> says it is a terminal; null otherwise, where the caller writes plain lines.
    /// </summary>
    public static IAnsiConsole? ConsoleFor(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return Is(writer) ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) }) : null;
    }
}
