namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// How one permutation group (or a layer's output classes) is laid out in the merged model: first the merged units
/// (unit i of the reference averaged with unit i of the aligned model), then the reference's kept units, then the
/// aligned model's kept units. Width = merged + kept A + kept B.
/// </summary>
/// <param name="Name">The group's name.</param>
/// <param name="Merged">Indices merged (the same index in both models, after alignment).</param>
/// <param name="KeptA">Reference units kept unmerged.</param>
/// <param name="KeptB">Aligned-model units kept unmerged.</param>
public sealed record GroupPlan(string Name, int[] Merged, int[] KeptA, int[] KeptB)
{
    /// <summary>Units in the merged model.</summary>
    public int Width => Merged.Length + KeptA.Length + KeptB.Length;

    /// <summary>Everything merged: n units become n.</summary>
    public static GroupPlan AllMerged(string name, int n) => new(name, Enumerable.Range(0, n).ToArray(), [], []);

    /// <summary>
    /// Per merged-model unit: the source index in A and in B (0 where that model contributes nothing) and the unit's
    /// class: 0 merged, 1 kept from A, 2 kept from B.
    /// </summary>
    public (long[] IndexA, long[] IndexB, int[] Class) Layout()
    {
        var a = new List<long>(); var b = new List<long>(); var c = new List<int>();
        foreach (int i in Merged) { a.Add(i); b.Add(i); c.Add(0); }
        foreach (int i in KeptA) { a.Add(i); b.Add(0); c.Add(1); }
        foreach (int i in KeptB) { a.Add(0); b.Add(i); c.Add(2); }
        return (a.ToArray(), b.ToArray(), c.ToArray());
    }
}
