using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>Settings of a greedy soup run.</summary>
public sealed record GreedyOptions
{
    /// <summary>When to keep an ingredient; the paper's ≥ by default.</summary>
    public AcceptRule Rule { get; init; } = AcceptRule.GreaterOrEqual;

    /// <summary>Called after each evaluation (key, candidate name, result, whether it was replayed from the store), e.g. to show progress.</summary>
    public Action<string, string, EvaluationResult, bool>? OnEvaluated { get; init; }
}
