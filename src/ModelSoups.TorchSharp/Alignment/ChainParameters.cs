namespace ModelSoups.TorchSharp.Alignment;

/// <summary>Units of one layer's output (or of the data) by class: merged, kept from A, kept from B.</summary>
/// <param name="Merged">Merged units (or, for the data, the input features).</param>
/// <param name="KeptA">Units kept from A.</param>
/// <param name="KeptB">Units kept from B.</param>
public readonly record struct UnitCounts(int Merged, int KeptA, int KeptB)
{
    /// <summary>All units.</summary>
    public int Total => Merged + KeptA + KeptB;
    /// <summary>The counts of a plan.</summary>
    public static UnitCounts Of(GroupPlan plan) => new(plan.Merged.Length, plan.KeptA.Length, plan.KeptB.Length);
}

/// <summary>
/// Effective trainable-parameter count of a merged chain: weights, biases and BatchNorm γ, β — without the structural
/// zeros (kept-A units reading kept-B units and vice versa), which are fixed at 0 and carry no information (a sparse
/// or block-diagonal layer would not store them). So nothing merged counts as both models side by side (2× minus the
/// head's shared bias), everything merged as one model. The stored checkpoint is dense and holds the zeros too.
/// </summary>
public static class ChainParameters
{
    /// <summary>Parameters of <paramref name="network"/> reading <paramref name="inputs"/> features (MLP: pixels; CNN: channels).</summary>
    public static long Count(IMergeNetwork network, int inputs, IReadOnlyList<UnitCounts> groups, UnitCounts head)
    {
        var layers = network.MergeLayers;
        int expected = layers.Max(l => l.OutputGroup) + 1;
        if (groups.Count != expected) throw new ArgumentException($"{groups.Count} groups for a network of {expected}", nameof(groups));
        long total = 0;
        foreach (var layer in layers)
        {
            var fanIn = layer.InputGroup == MergeLayer.Data ? new UnitCounts(inputs, 0, 0) : groups[layer.InputGroup];
            var fanOut = layer.OutputGroup == MergeLayer.Head ? head : groups[layer.OutputGroup];
            long weights = (long)fanOut.Merged * fanIn.Total + (long)fanOut.KeptA * (fanIn.Merged + fanIn.KeptA) + (long)fanOut.KeptB * (fanIn.Merged + fanIn.KeptB);
            total += weights * layer.Area + (layer.Bias is null ? 0 : fanOut.Total) + (layer.BatchNorm is null ? 0 : 2 * fanOut.Total);
        }
        return total;
    }

    /// <summary>Effective parameters of a plan.</summary>
    public static long Count(IMergeNetwork network, int inputs, MergePlan plan) =>
        Count(network, inputs, plan.Groups.Select(UnitCounts.Of).ToList(), UnitCounts.Of(plan.Head));

    /// <summary>Stored structural zeros of a plan (dense checkpoint entries fixed at 0).</summary>
    public static long StructuralZeros(IMergeNetwork network, MergePlan plan)
    {
        long total = 0;
        foreach (var layer in network.MergeLayers)
        {
            if (layer.InputGroup == MergeLayer.Data) continue;
            var fanIn = UnitCounts.Of(plan.Groups[layer.InputGroup]);
            var fanOut = layer.OutputGroup == MergeLayer.Head ? UnitCounts.Of(plan.Head) : UnitCounts.Of(plan.Groups[layer.OutputGroup]);
            total += ((long)fanOut.KeptA * fanIn.KeptB + (long)fanOut.KeptB * fanIn.KeptA) * layer.Area;
        }
        return total;
    }
}
