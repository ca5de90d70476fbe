using ModelSoups.TorchSharp.Models;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// The permutation groups of a residual network given as an ONNX graph (<see cref="OnnxGraphModule"/>, e.g. the ImageNet
/// ResNet-18), found by following channels through the graph rather than written per model. Every convolution starts a
/// new channel space (its weight axis 0, its bias); BatchNorm, ReLU and pooling keep their input's space (BatchNorm's
/// four vectors join it); a convolution reading a value adds its weight axis 1 to that value's space; and an Add makes
/// its two inputs one space. So a residual stream — the stem's (or a block's second) conv+BN output, a downsampling
/// shortcut's 1×1 conv+BN, every block's Add and the next blocks' first convolutions and shortcuts that read it —
/// comes out as one group sharing one permutation (Ainsworth et al. 2023, "Git Re-Basin", §4 and App. A: residual
/// connections tie the permutations of every layer that writes into the stream), and each block's inner channels as a
/// group of their own. The head's weight axis 1 joins the space of the graph's output (after the global pool).
/// </summary>
public sealed class ResidualGraph
{
    /// <summary>The groups, ordered by the first convolution that writes each one.</summary>
    public PermutationSpec Spec { get; }

    /// <summary>
    /// Per graph value whose channels are one group's units: the group. These are the values activation matching
    /// correlates — every BatchNorm output and every Add output (the residual stream before its ReLU), pre-activations
    /// for the reason <see cref="ActivationMatching"/> gives.
    /// </summary>
    public IReadOnlyDictionary<string, int> ObservedValues { get; }

    /// <summary>Every graph value's group (its channels' permutation group), or <see cref="MergeLayer.Data"/> for the input.</summary>
    public IReadOnlyDictionary<string, int> ValueGroups { get; }

    ResidualGraph(PermutationSpec spec, IReadOnlyDictionary<string, int> observed, IReadOnlyDictionary<string, int> values)
    {
        Spec = spec; ObservedValues = observed; ValueGroups = values;
    }

    /// <summary>
    /// The groups of <paramref name="steps"/> (state names <paramref name="prefix"/> + module name) with the head
    /// weight <paramref name="headWeight"/> reading the graph's output; sizes from <paramref name="shapes"/>.
    /// </summary>
    /// <exception cref="ModelSoupsException">An operator the tracing does not follow, or tensors that do not fit.</exception>
    public static ResidualGraph From(IReadOnlyList<OnnxGraphStep> steps, string input, string output, string prefix, string headWeight,
        IReadOnlyDictionary<string, long[]> shapes, string? path = null)
    {
        var parent = new List<int>();
        int NewSpace() { parent.Add(parent.Count); return parent.Count - 1; }
        int Find(int s) { while (parent[s] != s) s = parent[s] = parent[parent[s]]; return s; }
        const int Data = -1;
        var spaceOf = new Dictionary<string, int>(StringComparer.Ordinal) { [input] = Data };
        var axes = new List<(int Space, PermutationAxis Axis)>();
        var observed = new List<(int Space, string Value)>();
        foreach (var step in steps)
        {
            int In(int i) => spaceOf.TryGetValue(step.Inputs[i], out var s) ? s
                : throw new ModelSoupsException($"graph value '{step.Inputs[i]}' (read by {step.Module}) is used before it is computed", path);
            switch (step.OpType)
            {
                case "Conv":
                {
                    var c = step.Conv!;
                    if (c.Groups != 1)
                        throw new ModelSoupsException($"convolution {step.Module} has {c.Groups} channel groups; permutation alignment supports ordinary convolutions only", path);
                    int source = In(0), s = NewSpace();
                    axes.Add((s, new PermutationAxis($"{prefix}{step.Module}.weight", 0)));
                    if (c.HasBias) axes.Add((s, new PermutationAxis($"{prefix}{step.Module}.bias", 0)));
                    if (source != Data) axes.Add((source, new PermutationAxis($"{prefix}{step.Module}.weight", 1)));
                    spaceOf[step.Output] = s;
                    break;
                }
                case "BatchNormalization":
                {
                    int s = In(0);
                    if (s == Data) throw new ModelSoupsException($"BatchNorm {step.Module} normalises the input data; permutation alignment needs it after a convolution", path);
                    foreach (var v in new[] { "weight", "bias", "running_mean", "running_var" })
                        axes.Add((s, new PermutationAxis($"{prefix}{step.Module}.{v}", 0)));
                    spaceOf[step.Output] = s;
                    observed.Add((s, step.Output));
                    break;
                }
                case "Relu" or "MaxPool" or "AveragePool" or "GlobalAveragePool":
                    spaceOf[step.Output] = In(0);
                    break;
                case "Add":
                {
                    int a = In(0), b = In(1);
                    if (a == Data || b == Data) throw new ModelSoupsException($"Add {step.Module} adds the input data; permutation alignment needs both inputs computed by convolutions", path);
                    int ra = Find(a), rb = Find(b);
                    if (ra != rb) parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
                    spaceOf[step.Output] = Find(a);
                    observed.Add((Find(a), step.Output));
                    break;
                }
                default:
                    throw new ModelSoupsException(
                        $"permutation alignment follows Conv, BatchNormalization, Relu, pooling and Add through a graph, not {step.OpType} (node {step.Module})", path);
            }
        }
        if (!spaceOf.TryGetValue(output, out var last) || last == Data)
            throw new ModelSoupsException("the graph's output is not computed by a convolution; permutation alignment cannot tie the head to it", path);
        axes.Add((last, new PermutationAxis(headWeight, 1)));

        // One group per root, in order of first appearance (the first axis of a space is its first convolution's output).
        var groupOfRoot = new Dictionary<int, int>();
        var groupAxes = new List<List<PermutationAxis>>();
        foreach (var (space, axis) in axes)
        {
            int root = Find(space);
            if (!groupOfRoot.TryGetValue(root, out var g))
            {
                groupOfRoot[root] = g = groupAxes.Count;
                groupAxes.Add([]);
            }
            groupAxes[g].Add(axis);
        }
        var groups = new List<PermutationGroup>();
        foreach (var list in groupAxes)
        {
            var first = list[0];
            if (!shapes.TryGetValue(first.Tensor, out var shape))
                throw new ModelSoupsException($"the checkpoint has no tensor '{first.Tensor}' that the permutation spec needs", path);
            var name = first.Tensor.StartsWith(prefix, StringComparison.Ordinal) ? first.Tensor[prefix.Length..] : first.Tensor;
            groups.Add(new PermutationGroup(name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^".weight".Length] : name,
                checked((int)shape[first.Axis]), list));
        }
        var spec = new PermutationSpec(groups);
        spec.Validate(shapes, path);
        var observedValues = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (space, value) in observed) observedValues[value] = groupOfRoot[Find(space)];
        var valueGroups = spaceOf.ToDictionary(p => p.Key, p => p.Value == Data ? MergeLayer.Data : groupOfRoot[Find(p.Value)], StringComparer.Ordinal);
        return new ResidualGraph(spec, observedValues, valueGroups);
    }
}
