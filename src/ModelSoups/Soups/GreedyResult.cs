namespace ModelSoups.Soups;

/// <summary>One ingredient's own evaluation; <paramref name="Error"/> is set (and the score NaN) when it failed and was skipped.</summary>
public sealed record IngredientScore(int Index, string Name, double Score, IReadOnlyDictionary<string, double> Metrics, string? Error = null);

/// <summary>
/// One step of a greedy soup. Step 0 starts the soup with the best ingredient (always accepted,
/// its own score); step s ≥ 1 tries the s-th best ingredient.
/// </summary>
/// <param name="Step">0 for the start, then 1, 2, …</param>
/// <param name="Ingredient">Index of the ingredient tried, in the caller's order.</param>
/// <param name="Name">Its name.</param>
/// <param name="CandidateScore">Score of mean(soup ∪ {ingredient}).</param>
/// <param name="Accepted">Whether the ingredient joined the soup.</param>
/// <param name="SoupScore">Score of the soup after this step.</param>
/// <param name="Metrics">The candidate's metrics.</param>
/// <param name="Error">Why the candidate's evaluation failed (then it is rejected and its score is NaN); null when it did not.</param>
public sealed record GreedyStep(int Step, int Ingredient, string Name, double CandidateScore, bool Accepted, double SoupScore, IReadOnlyDictionary<string, double> Metrics, string? Error = null);

/// <summary>What a greedy soup found.</summary>
/// <param name="Rule">The accept rule used.</param>
/// <param name="Ingredients">Every ingredient's score, in the caller's order.</param>
/// <param name="Ranking">Ingredient indices by score, best first (ties keep the caller's order); failed ingredients are left out.</param>
/// <param name="Trajectory">Step 0 (the best ingredient) then one step per other ingredient.</param>
/// <param name="Members">Indices of the soup's members, in the order they joined.</param>
/// <param name="SoupScore">The final soup's score.</param>
public sealed record GreedyResult(
    AcceptRule Rule,
    IReadOnlyList<IngredientScore> Ingredients,
    IReadOnlyList<int> Ranking,
    IReadOnlyList<GreedyStep> Trajectory,
    IReadOnlyList<int> Members,
    double SoupScore)
{
    /// <summary>Names of the soup's members, in the order they joined.</summary>
    public IReadOnlyList<string> MemberNames => Members.Select(i => Ingredients[i].Name).ToArray();
}
