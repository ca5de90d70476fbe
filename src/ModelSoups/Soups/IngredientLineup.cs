using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>
/// A soup's ingredients, checked once from their headers to line up: every ingredient has the first one's tensor names
/// and shapes and no others, and a tensor that is not a float tensor everywhere has one dtype in all of them (it is
/// copied, never averaged). <see cref="Check"/> is the one place a greedy soup validates that (the first problem is a
/// <see cref="ModelSoupsException"/> naming the ingredient and the tensor); the <see cref="StreamingSoupBuilder"/>s of
/// the run and the final write (<see cref="Engine.MergeOptions.LinedUp"/>: its plan does not compare them again) use the
/// result.
/// </summary>
public sealed class IngredientLineup
{
    IngredientLineup(IReadOnlyList<ICheckpoint> ingredients, IReadOnlyList<string> names)
    {
        Ingredients = ingredients;
        Names = names;
    }

    /// <summary>The ingredients checked (open, not owned), in order.</summary>
    public IReadOnlyList<ICheckpoint> Ingredients { get; }

    /// <summary>Their names, as the messages call them.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Checks <paramref name="ingredients"/> (named <paramref name="names"/>, one each); throws on the first problem.</summary>
    public static IngredientLineup Check(IReadOnlyList<ICheckpoint> ingredients, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(ingredients);
        ArgumentNullException.ThrowIfNull(names);
        if (ingredients.Count == 0) throw new ModelSoupsException("a soup needs at least one ingredient.");
        if (names.Count != ingredients.Count) throw new ArgumentException("one name per ingredient.", nameof(names));
        var first = ingredients[0];
        foreach (var t in first.Tensors.Values)
        {
            bool allFloat = true;
            for (int i = 0; i < ingredients.Count; i++)
            {
                if (!ingredients[i].Tensors.TryGetValue(t.Name, out var o))
                    throw new ModelSoupsException($"ingredient '{names[i]}' has no tensor '{t.Name}', which '{names[0]}' has.", ingredients[i].Location);
                if (!o.Info.SameShape(t.Info))
                    throw new ModelSoupsException($"tensor '{t.Name}' is {o.Info.ShapeText} in ingredient '{names[i]}' but {t.Info.ShapeText} in '{names[0]}'.", ingredients[i].Location);
                allFloat &= o.DType.IsFloat();
            }
            if (!allFloat && ingredients.Any(c => c.Tensors[t.Name].DType != t.DType))
                throw new ModelSoupsException($"tensor '{t.Name}' is not a float tensor in every ingredient and its dtype differs between them.", first.Location);
        }
        for (int i = 1; i < ingredients.Count; i++)
            if (ingredients[i].Tensors.Count != first.Tensors.Count)
            {
                var extra = ingredients[i].Tensors.Keys.First(n => !first.Tensors.ContainsKey(n));
                throw new ModelSoupsException($"ingredient '{names[i]}' has tensor '{extra}', which '{names[0]}' has not.", ingredients[i].Location);
            }
        if (first.Tensors.Count == 0) throw new ModelSoupsException("the ingredients have no tensors.", first.Location);
        return new IngredientLineup([.. ingredients], [.. names]);
    }

    /// <summary>
    /// True when every one of <paramref name="checkpoints"/> is one of the checked ingredients — the same open
    /// checkpoint, or one lent from it (<see cref="BorrowedCheckpoint"/>): the same tensor table.
    /// </summary>
    public bool Covers(IEnumerable<ICheckpoint> checkpoints)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        return checkpoints.All(c => Ingredients.Any(i => ReferenceEquals(i.Tensors, c.Tensors)));
    }
}
