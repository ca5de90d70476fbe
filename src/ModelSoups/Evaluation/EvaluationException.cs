namespace ModelSoups.Evaluation;

/// <summary>
/// An evaluator could not score a candidate: the command failed or timed out, its output did not parse,
/// the data or model does not fit the candidate. The message names the candidate.
/// </summary>
public class EvaluationException : ModelSoupsException
{
    /// <summary>The candidate being evaluated when it failed.</summary>
    public string Candidate { get; }

    public EvaluationException(string candidate, string message, string? path = null, Exception? inner = null)
        : base(message, path, inner) => Candidate = candidate;
}
