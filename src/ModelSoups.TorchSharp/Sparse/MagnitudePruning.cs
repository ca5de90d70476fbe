namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// Unstructured magnitude (L1) pruning (Han et al. 2015; the SMS code's global and uniform variants), pure over
/// float arrays: the k = round(s·n) weights of smallest |w| are pruned. Weights already pruned by an earlier
/// phase rank below every other (masks only grow, as in iterative magnitude pruning). Ties are broken by
/// position (tensor order, then element index: the earlier one is pruned first), so the result is deterministic.
/// </summary>
public static class MagnitudePruning
{
    /// <summary>
    /// Keep-masks (true = kept) for <paramref name="weights"/> at <paramref name="sparsity"/>; <paramref name="previous"/>
    /// holds the earlier keep-mask per tensor (null entries or a null list: nothing pruned yet).
    /// </summary>
    public static bool[][] Masks(IReadOnlyList<float[]> weights, double sparsity, PruningScope scope, IReadOnlyList<bool[]?>? previous = null)
    {
        if (!(sparsity >= 0 && sparsity < 1)) throw new ModelSoupsException($"the sparsity must be in [0, 1), not {sparsity}");
        if (previous is not null && previous.Count != weights.Count) throw new ArgumentException("one previous mask per tensor is needed", nameof(previous));
        var keys = new float[weights.Count][];
        for (int t = 0; t < weights.Count; t++)
        {
            var w = weights[t];
            var prev = previous?[t];
            if (prev is not null && prev.Length != w.Length) throw new ArgumentException($"the previous mask of tensor {t} has another length", nameof(previous));
            var k = new float[w.Length];
            for (int i = 0; i < w.Length; i++)
            {
                if (!float.IsFinite(w[i])) throw new ModelSoupsException($"weight {i} of prunable tensor {t} is {w[i]}; the model diverged");
                k[i] = prev is not null && !prev[i] ? -1f : Math.Abs(w[i]);
            }
            keys[t] = k;
        }
        var masks = keys.Select(k => Enumerable.Repeat(true, k.Length).ToArray()).ToArray();
        if (scope == PruningScope.Global)
        {
            long total = keys.Sum(k => (long)k.Length);
            PruneSmallest(keys, masks, PruneSchedule.ZeroCount(total, sparsity));
        }
        else
        {
            for (int t = 0; t < keys.Length; t++)
                PruneSmallest([keys[t]], [masks[t]], PruneSchedule.ZeroCount(keys[t].Length, sparsity));
        }
        return masks;
    }

    /// <summary>Clears the keep flag of the <paramref name="count"/> smallest keys, earlier positions first among equals.</summary>
    static void PruneSmallest(float[][] keys, bool[][] keep, long count)
    {
        if (count == 0) return;
        long alreadyPruned = keys.Sum(k => (long)k.Count(x => x < 0));
        if (count < alreadyPruned)
            throw new ModelSoupsException($"the target prunes {count} weights but {alreadyPruned} are pruned already; the sparsity cannot go down");
        // The count-th smallest key is the threshold: everything below it goes, and at it the first ones in order.
        var all = new float[keys.Sum(k => (long)k.Length)];
        long at = 0;
        foreach (var k in keys) { k.CopyTo(all, at); at += k.Length; }
        Array.Sort(all);
        float threshold = all[count - 1];
        long below = 0;
        foreach (var k in keys) foreach (var x in k) if (x < threshold) below++;
        long atThreshold = count - below;
        for (int t = 0; t < keys.Length; t++)
        {
            var k = keys[t];
            for (int i = 0; i < k.Length; i++)
            {
                if (k[i] < threshold) keep[t][i] = false;
                else if (k[i] == threshold && atThreshold > 0) { keep[t][i] = false; atThreshold--; }
            }
        }
    }
}
