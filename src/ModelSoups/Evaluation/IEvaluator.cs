namespace ModelSoups.Evaluation;

/// <summary>
/// Scores a candidate model on held-out data (Wortsman et al. 2022 use held-out top-1 accuracy).
/// Implement it to evaluate in-process, or use <see cref="CommandEvaluator"/>, the ONNX Runtime
/// evaluator (ModelSoups.Onnx) or <see cref="DelegateEvaluator"/>.
/// Evaluation is synchronous: the caller decides on threads; honour the token for long runs.
/// </summary>
public interface IEvaluator
{
    /// <summary>
    /// A stable one-line description of what is measured and how (command template, model, data, metric).
    /// Journals fingerprint it: a different description means cached scores are not reusable.
    /// </summary>
    string Description { get; }

    /// <summary>True when the candidate must exist as a checkpoint folder on disk (soups materialise mixtures for it).</summary>
    bool NeedsFolder { get; }

    /// <summary>True when results carry per-example <see cref="EvaluationResult.Logits"/> and labels.</summary>
    bool ProvidesLogits { get; }

    /// <summary>Evaluates one candidate; user-facing failures are <see cref="EvaluationException"/>.</summary>
    EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default);
}
