namespace ModelSoups.Cli.Progress;

/// <summary>
/// The one place that decides whether a command writes to a person at a terminal (live progress bars, colour, tables)
/// or to a file, a pipe or a test's writer (plain lines that logs and tests read).
/// </summary>
public static class Terminal
{
    /// <summary>True when <paramref name="writer"/> is the process's own stderr or stdout and that stream is a terminal.</summary>
    public static bool Is(TextWriter writer) =>
        ReferenceEquals(writer, Console.Error) ? !Console.IsErrorRedirected
        : ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
}
