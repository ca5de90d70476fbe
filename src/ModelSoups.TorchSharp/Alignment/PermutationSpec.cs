using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>One tensor axis that a permutation group reorders.</summary>
/// <param name="Tensor">State name, e.g. <c>conv2.weight</c>.</param>
/// <param name="Axis">The axis: 0 for a layer's outputs (and every BatchNorm vector), 1 for the next layer's inputs.</param>
public sealed record PermutationAxis(string Tensor, int Axis);

/// <summary>
/// Hidden units that can be reordered together without changing the network's function: a layer's output units,
/// its bias and BatchNorm vectors, and the next layer's input columns (Ainsworth et al. 2023, "Git Re-Basin", §3).
/// </summary>
/// <param name="Name">The group's name (the producing layer's state prefix).</param>
/// <param name="Size">How many units it permutes.</param>
/// <param name="Axes">Every tensor axis the group reorders.</param>
public sealed record PermutationGroup(string Name, int Size, IReadOnlyList<PermutationAxis> Axes);

/// <summary>
/// Which tensor axes share a permutation — data, not code per model: <see cref="FromChain"/> derives it from a
/// <see cref="LayerChain"/> and the tensors' shapes, and <see cref="Validate"/> checks it against a checkpoint
/// before anything is permuted. A permutation of the whole network is one int[] per group.
/// </summary>
public sealed class PermutationSpec
{
    /// <summary>The groups, in forward order.</summary>
    public IReadOnlyList<PermutationGroup> Groups { get; }

    /// <summary>A spec of <paramref name="groups"/>; a tensor axis may belong to one group only.</summary>
    public PermutationSpec(IReadOnlyList<PermutationGroup> groups)
    {
        var seen = new HashSet<PermutationAxis>();
        foreach (var g in groups)
            foreach (var a in g.Axes)
                if (!seen.Add(a)) throw new ArgumentException($"axis {a.Axis} of '{a.Tensor}' is in two permutation groups", nameof(groups));
        Groups = groups;
    }

    /// <summary>
    /// The groups of a chain: each layer but the last permutes its outputs (weight axis 0, bias, BatchNorm vectors)
    /// and the next layer's inputs (weight axis 1). Sizes are read from <paramref name="shapes"/>.
    /// </summary>
    public static PermutationSpec FromChain(LayerChain chain, IReadOnlyDictionary<string, long[]> shapes, string? path = null)
    {
        var groups = new List<PermutationGroup>();
        for (int l = 0; l + 1 < chain.Layers.Count; l++)
        {
            var layer = chain.Layers[l];
            if (!shapes.TryGetValue(layer.Weight, out var shape) || shape.Length < 2)
                throw new ModelSoupsException($"the checkpoint has no 2-D or 4-D tensor '{layer.Weight}' that the permutation spec needs", path);
            var axes = new List<PermutationAxis> { new(layer.Weight, 0) };
            if (layer.HasBias) axes.Add(new(layer.Bias, 0));
            axes.AddRange(layer.BatchNormVectors.Select(v => new PermutationAxis(v, 0)));
            axes.Add(new(chain.Layers[l + 1].Weight, 1));
            groups.Add(new PermutationGroup(layer.Name, checked((int)shape[0]), axes));
        }
        var spec = new PermutationSpec(groups);
        spec.Validate(shapes, path);
        return spec;
    }

    /// <summary>Checks that every axis exists in <paramref name="shapes"/> with the group's size.</summary>
    /// <exception cref="ModelSoupsException">A tensor is missing or an axis has another length.</exception>
    public void Validate(IReadOnlyDictionary<string, long[]> shapes, string? path = null)
    {
        foreach (var g in Groups)
            foreach (var a in g.Axes)
            {
                if (!shapes.TryGetValue(a.Tensor, out var shape))
                    throw new ModelSoupsException($"the permutation spec names tensor '{a.Tensor}' (group {g.Name}), which the checkpoint does not have", path);
                if (a.Axis >= shape.Length || shape[a.Axis] != g.Size)
                    throw new ModelSoupsException(
                        $"the permutation spec needs axis {a.Axis} of '{a.Tensor}' to have {g.Size} units (group {g.Name}), but the tensor is [{string.Join(", ", shape)}]", path);
            }
    }

    /// <summary>
    /// <paramref name="state"/> with every group's units reordered: unit i of the result is unit
    /// <c>permutation[g][i]</c> of the input, on every axis of the group. Pure gathers, so values are copied bit for bit;
    /// tensors no group touches are shared, not copied.
    /// </summary>
    public Dictionary<string, Tensor> Apply(IReadOnlyDictionary<string, Tensor> state, IReadOnlyList<int[]> permutation)
    {
        if (permutation.Count != Groups.Count) throw new ArgumentException($"{permutation.Count} permutations for {Groups.Count} groups", nameof(permutation));
        var result = new Dictionary<string, Tensor>(state, StringComparer.Ordinal);
        for (int g = 0; g < Groups.Count; g++)
        {
            if (permutation[g].Length != Groups[g].Size) throw new ArgumentException($"group {Groups[g].Name} has {Groups[g].Size} units, the permutation {permutation[g].Length}", nameof(permutation));
            using var index = tensor(permutation[g].Select(i => (long)i).ToArray(), ScalarType.Int64);
            foreach (var a in Groups[g].Axes)
                result[a.Tensor] = result[a.Tensor].index_select(a.Axis, index);
        }
        return result;
    }

    /// <summary><paramref name="shapes"/> with every axis of group g set to <paramref name="widths"/>[g] (the shapes of a merged model).</summary>
    public Dictionary<string, long[]> Resized(IReadOnlyDictionary<string, long[]> shapes, IReadOnlyList<int> widths)
    {
        if (widths.Count != Groups.Count) throw new ArgumentException($"{widths.Count} widths for {Groups.Count} groups", nameof(widths));
        var result = shapes.ToDictionary(p => p.Key, p => (long[])p.Value.Clone(), StringComparer.Ordinal);
        for (int g = 0; g < Groups.Count; g++)
            foreach (var a in Groups[g].Axes) result[a.Tensor][a.Axis] = widths[g];
        return result;
    }

    /// <summary>The identity permutation of every group.</summary>
    public int[][] Identity() => Groups.Select(g => Enumerable.Range(0, g.Size).ToArray()).ToArray();
}
