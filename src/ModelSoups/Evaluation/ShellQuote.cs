namespace ModelSoups.Evaluation;

/// <summary>POSIX shell quoting: a value that <c>/bin/sh</c> reads back as exactly one word, unchanged.</summary>
public static class ShellQuote
{
    /// <summary>
    /// Wraps <paramref name="value"/> in single quotes; an embedded single quote becomes <c>'\''</c>
    /// (close, escaped quote, reopen), the only character single quotes cannot hold (POSIX 2.2.2).
    /// </summary>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
