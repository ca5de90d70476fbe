namespace ModelSoups.Evaluation;

/// <summary>Settings of a <see cref="CommandEvaluator"/>.</summary>
public sealed record CommandEvaluatorOptions
{
    /// <summary>
    /// Shell command line run by <c>/bin/sh -c</c>; <c>{model}</c> is replaced by the candidate folder's
    /// path, single-quoted for the shell (so write <c>--model {model}</c>, not <c>--model '{model}'</c>).
    /// </summary>
    public required string Template { get; init; }

    /// <summary>Which number of the JSON output is the score: "metrics.NAME" or "NAME"; null means "score".</summary>
    public string? Metric { get; init; }

    /// <summary>Longest a single evaluation may run; the whole process tree is killed after it. Null: no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Working directory of the command; null: the current directory.</summary>
    public string? WorkingDirectory { get; init; }
}
