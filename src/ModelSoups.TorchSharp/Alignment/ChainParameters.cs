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
    /// <summary>Parameters of <paramref name="chain"/> reading <paramref name="inputs"/> features (MLP: pixels; CNN: channels).</summary>
    public static long Count(LayerChain chain, int inputs, IReadOnlyList<UnitCounts> groups, UnitCounts head)
    {
        if (groups.Count != chain.Layers.Count - 1) throw new ArgumentException($"{groups.Count} groups for {chain.Layers.Count - 1} hidden layers", nameof(groups));
        long total = 0;
        var fanIn = new UnitCounts(inputs, 0, 0);
        for (int l = 0; l < chain.Layers.Count; l++)
        {
            var layer = chain.Layers[l];
            var fanOut = l < groups.Count ? groups[l] : head;
            long area = layer.Kind == ChainLayerKind.Conv3x3 ? 9 : 1;
            long weights = (long)fanOut.Merged * fanIn.Total + (long)fanOut.KeptA * (fanIn.Merged + fanIn.KeptA) + (long)fanOut.KeptB * (fanIn.Merged + fanIn.KeptB);
            total += weights * area + (layer.HasBias ? fanOut.Total : 0) + (layer.BatchNorm is null ? 0 : 2 * fanOut.Total);
            fanIn = fanOut;
        }
        return total;
    }

    /// <summary>Effective parameters of a plan.</summary>
    public static long Count(LayerChain chain, int inputs, MergePlan plan) =>
        Count(chain, inputs, plan.Groups.Select(UnitCounts.Of).ToList(), UnitCounts.Of(plan.Head));

    /// <summary>Stored structural zeros of a plan (dense checkpoint entries fixed at 0).</summary>
    public static long StructuralZeros(LayerChain chain, MergePlan plan)
    {
        long total = 0;
        for (int l = 1; l < chain.Layers.Count; l++)
        {
            var fanIn = UnitCounts.Of(plan.Groups[l - 1]);
            var fanOut = l < plan.Groups.Count ? UnitCounts.Of(plan.Groups[l]) : UnitCounts.Of(plan.Head);
            long area = chain.Layers[l].Kind == ChainLayerKind.Conv3x3 ? 9 : 1;
            total += ((long)fanOut.KeptA * fanIn.KeptB + (long)fanOut.KeptB * fanIn.KeptA) * area;
        }
        return total;
    }
}
