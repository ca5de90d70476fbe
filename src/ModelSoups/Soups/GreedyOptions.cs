using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>Settings of a greedy soup run.</summary>
public sealed record GreedyOptions
{
    /// <summary>When to keep an ingredient; the paper's ≥ by default.</summary>
    public AcceptRule Rule { get; init; } = AcceptRule.GreaterOrEqual;

    /// <summary>Called after each evaluation (key, candidate name, result, whether it was replayed from the store), e.g. to show progress.</summary>
    public Action<EvaluationKey, string, EvaluationResult, bool>? OnEvaluated { get; init; }

    /// <summary>
    /// When true, an <see cref="EvaluationException"/> does not stop the run: a failed ingredient is left out
    /// of the ranking, a failed candidate is rejected. Failures are not journaled, so a rerun tries them again.
    /// </summary>
    public bool SkipFailedEvaluations { get; init; }

    /// <summary>Called when an evaluation failed and was skipped (key, candidate name, the error).</summary>
    public Action<EvaluationKey, string, EvaluationException>? OnSkipped { get; init; }
}
