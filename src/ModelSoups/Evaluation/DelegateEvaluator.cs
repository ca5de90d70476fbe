using ModelSoups.Checkpoints;

namespace ModelSoups.Evaluation;

/// <summary>An in-process evaluator from a function of the candidate's tensors.</summary>
public sealed class DelegateEvaluator : IEvaluator
{
    private readonly Func<ICheckpoint, CancellationToken, EvaluationResult> _evaluate;

    /// <param name="description">Stable description for journals, e.g. "my-eval v2 on heldout.safetensors".</param>
    /// <param name="evaluate">Scores the candidate's tensors.</param>
    /// <param name="providesLogits">Whether results carry logits and labels.</param>
    public DelegateEvaluator(string description, Func<ICheckpoint, CancellationToken, EvaluationResult> evaluate, bool providesLogits = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(description);
        Description = description;
        _evaluate = evaluate ?? throw new ArgumentNullException(nameof(evaluate));
        ProvidesLogits = providesLogits;
    }

    /// <summary>Convenience: an evaluator from a function without a cancellation token.</summary>
    public DelegateEvaluator(string description, Func<ICheckpoint, EvaluationResult> evaluate, bool providesLogits = false)
        : this(description, (c, _) => evaluate(c), providesLogits) { }

    public string Description { get; }
    public bool NeedsFolder => false;
    public bool ProvidesLogits { get; }

    public EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _evaluate(candidate.RequireCheckpoint("in-process"), cancellationToken);
    }
}
