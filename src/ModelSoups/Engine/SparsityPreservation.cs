using System.Numerics;

namespace ModelSoups.Engine;

/// <summary>
/// The two checks behind <c>sparsity: preserve</c> (Sparse Model Soups, Zimmer et al. 2024): models pruned with one
/// shared mask must agree on where they are zero, and the merged tensor must be exactly zero wherever every model is
/// (a linear average of same-mask models is zero there already; methods with a base or with rescaling need not be).
/// Pure, over one block of the compute type; -0 counts as zero, the output's zero is +0.
/// </summary>
public static class SparsityPreservation
{
    /// <summary>True when every model is zero at exactly the same elements.</summary>
    public static bool SameZeros<T>(IReadOnlyList<ReadOnlyMemory<T>> models) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (models.Count < 2) return true;
        var first = models[0].Span;
        for (int m = 1; m < models.Count; m++)
        {
            var other = models[m].Span;
            for (int i = 0; i < first.Length; i++)
                if ((first[i] == T.Zero) != (other[i] == T.Zero)) return false;
        }
        return true;
    }

    /// <summary>Sets <paramref name="result"/> to +0 wherever every model is zero.</summary>
    public static void KeepZeros<T>(IReadOnlyList<ReadOnlyMemory<T>> models, Span<T> result) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (models.Count == 0) return;
        for (int i = 0; i < result.Length; i++)
        {
            bool allZero = true;
            for (int m = 0; m < models.Count && allZero; m++) allZero = models[m].Span[i] == T.Zero;
            if (allZero) result[i] = T.Zero;
        }
    }
}
