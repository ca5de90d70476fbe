using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>
/// Builds the models a greedy soup evaluates, keeping a running sum of the soup's members so each
/// candidate, mean(soup ∪ {ingredient}), costs one pass over one more ingredient. The greedy logic
/// (<see cref="GreedySoup"/>) only decides; this does the tensor work and owns any temporary files,
/// so a streaming engine can implement it without holding models in memory.
/// Calls come in this order: any number of <see cref="Ingredient"/>/<see cref="Discard"/> pairs,
/// then <see cref="Start"/>, then <see cref="Propose"/>/<see cref="Discard"/> pairs and <see cref="Accept"/>s.
/// </summary>
public interface ISoupBuilder : IDisposable
{
    /// <summary>Ingredient names, in the caller's order (indices used everywhere else).</summary>
    IReadOnlyList<string> IngredientNames { get; }

    /// <summary>Ingredient <paramref name="index"/> as a candidate; on disk when <paramref name="needsFolder"/>. Valid until <see cref="Discard"/>.</summary>
    Candidate Ingredient(int index, bool needsFolder);

    /// <summary>Starts the soup as the single ingredient <paramref name="index"/>.</summary>
    void Start(int index);

    /// <summary>The uniform mean of the soup's members and ingredient <paramref name="index"/>; on disk when <paramref name="needsFolder"/>. Valid until <see cref="Discard"/>.</summary>
    Candidate Propose(int index, bool needsFolder);

    /// <summary>Releases the last candidate (deletes its temporary folder, frees its tensors). No-op when there is none.</summary>
    void Discard();

    /// <summary>Adds ingredient <paramref name="index"/> to the soup (needs no preceding <see cref="Propose"/>: resumed runs skip it).</summary>
    void Accept(int index);
}
