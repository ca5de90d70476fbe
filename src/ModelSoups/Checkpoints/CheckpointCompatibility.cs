using ModelSoups.Tensors;

namespace ModelSoups.Checkpoints;

/// <summary>How one tensor name differs across checkpoints.</summary>
public enum TensorDifferenceKind
{
    /// <summary>Absent from at least one checkpoint: not mergeable as is.</summary>
    Missing,
    /// <summary>Shapes differ: not mergeable.</summary>
    ShapeMismatch,
    /// <summary>Same shape, different dtypes: mergeable (converted to the compute dtype).</summary>
    DTypeDifference,
}

/// <summary>One tensor name that is not identical across checkpoints; <see cref="PerCheckpoint"/> holds null where it is missing.</summary>
public sealed record TensorDifference(string Name, TensorDifferenceKind Kind, IReadOnlyList<TensorInfo?> PerCheckpoint);

/// <summary>
/// Whether checkpoints can be merged tensor by tensor: the same names with the same shapes
/// (dtypes may differ). Decided from headers alone.
/// </summary>
public sealed class CheckpointCompatibility
{
    /// <summary>Every name that differs in some way, sorted by name (ordinal).</summary>
    public IReadOnlyList<TensorDifference> Differences { get; }

    /// <summary>True when no tensor is missing anywhere and no shapes differ.</summary>
    public bool IsCompatible => Differences.All(d => d.Kind == TensorDifferenceKind.DTypeDifference);

    CheckpointCompatibility(IReadOnlyList<TensorDifference> differences) => Differences = differences;

    /// <summary>Compares the tensor lists of several checkpoints.</summary>
    public static CheckpointCompatibility Compare(IReadOnlyList<ICheckpoint> checkpoints) =>
        Compare(checkpoints.Select(c => (IReadOnlyCollection<TensorInfo>)c.Tensors.Values.Select(t => t.Info).ToList()).ToList());

    /// <summary>Compares tensor lists (e.g. from headers read without mapping).</summary>
    public static CheckpointCompatibility Compare(IReadOnlyList<IReadOnlyCollection<TensorInfo>> tensorLists)
    {
        var maps = tensorLists.Select(l => l.ToDictionary(t => t.Name, StringComparer.Ordinal)).ToList();
        var names = maps.SelectMany(m => m.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var diffs = new List<TensorDifference>();
        foreach (var name in names)
        {
            var per = maps.Select(m => m.GetValueOrDefault(name)).ToList();
            var present = per.Where(p => p is not null).Select(p => p!).ToList();
            if (present.Count < per.Count) diffs.Add(new(name, TensorDifferenceKind.Missing, per));
            else if (present.Any(p => !p.SameShape(present[0]))) diffs.Add(new(name, TensorDifferenceKind.ShapeMismatch, per));
            else if (present.Any(p => p.DType != present[0].DType)) diffs.Add(new(name, TensorDifferenceKind.DTypeDifference, per));
        }
        return new CheckpointCompatibility(diffs);
    }
}
