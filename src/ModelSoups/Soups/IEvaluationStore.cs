using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>Remembers evaluations by key so a rerun replays them instead of evaluating again (see <see cref="GreedyJournal"/>).</summary>
public interface IEvaluationStore
{
    /// <summary>The stored result for <paramref name="key"/>, if any.</summary>
    bool TryGet(string key, out EvaluationResult result);

    /// <summary>Stores a finished evaluation durably before returning.</summary>
    void Add(string key, EvaluationResult result);
}
