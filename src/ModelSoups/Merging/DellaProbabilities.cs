using System.Numerics;

namespace ModelSoups.Merging;

/// <summary>
/// DELLA's MagPrune keep probabilities (Deep et al. 2024, "DELLA-Merging"; mergekit
/// <c>della_magprune</c>): within a row, entries are ranked by magnitude, r = 1 for the smallest
/// … m for the largest; the normalised rank ρ = (r − 1)/(m − 1) gives the keep probability
/// p = (density − ε) + 2ε·ρ, so the row keeps density of its entries on average and large
/// entries survive more often. Pure.
/// </summary>
public static class DellaProbabilities
{
    /// <summary>
    /// Writes p for every entry of <paramref name="magnitudes"/> into <paramref name="keep"/>.
    /// Equal magnitudes are ranked by index (lower index → lower rank); mergekit's
    /// <c>argsort</c> leaves their order unspecified. NaN magnitudes rank lowest. A one-element
    /// row gets ρ = ½ (p = density), where mergekit's formula divides 0 by 0.
    /// </summary>
    /// <param name="magnitudes">|τ| of one row (non-negative or NaN).</param>
    /// <param name="density">Mean keep probability, in (0, 1).</param>
    /// <param name="epsilon">Half-width of the probability range; density ± ε must lie in (0, 1).</param>
    /// <param name="keep">Output, same length as <paramref name="magnitudes"/>.</param>
    public static void Compute<T>(ReadOnlySpan<T> magnitudes, double density, double epsilon, Span<T> keep)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Compute(magnitudes, density, epsilon, keep, MergeScratch.Managed());

    /// <summary>
    /// As <see cref="Compute{T}(ReadOnlySpan{T}, double, double, Span{T})"/>, with its sort keys (16 bytes per entry,
    /// 32 for wider types than f32) taken from <paramref name="scratch"/> and given back before it returns.
    /// </summary>
    public static void Compute<T>(ReadOnlySpan<T> magnitudes, double density, double epsilon, Span<T> keep, MergeScratch scratch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int m = magnitudes.Length;
        if (m == 0) return;
        if (m == 1) { keep[0] = T.CreateChecked(density); return; }
        // One sort of (magnitude, index) keys: for non-negative values the order of the IEEE bit
        // patterns is the order of the values, so a key packs the bits above the index.
        long mark = scratch.Mark();
        var ks = scratch.Take<ulong>(m);
        var spare = scratch.Take<ulong>(m);
        for (int i = 0; i < m; i++)
        {
            double v = double.CreateChecked(magnitudes[i]);
            ulong bits = double.IsNaN(v) ? 0 : BitConverter.SingleToUInt32Bits((float)v);
            ks[i] = (bits << 32) | (uint)i;
        }
        if (typeof(T) != typeof(float)) Refine(magnitudes, ks, scratch); // keys become (rank, index), already in order
        else SortByHigh32(ks, spare);
        double low = density - epsilon, span = 2 * epsilon / (m - 1);
        for (int r = 0; r < m; r++) keep[(int)(uint)ks[r]] = T.CreateChecked(low + span * r);
        scratch.Release(mark);
    }

    /// <summary>
    /// Stable LSD radix sort of <paramref name="keys"/> by their high 32 bits, four 8-bit digits: the
    /// low halves (indices, ascending on entry) stay in order among equal magnitudes. Linear time,
    /// several times faster than a comparison sort on rows of a few thousand.
    /// </summary>
    static void SortByHigh32(Span<ulong> keys, Span<ulong> spare)
    {
        Span<int> count = stackalloc int[256];
        var from = keys;
        var to = spare;
        for (int shift = 32; shift < 64; shift += 8)
        {
            count.Clear();
            foreach (var key in from) count[(int)(key >> shift) & 0xFF]++;
            int sum = 0;
            for (int d = 0; d < 256; d++) { int c = count[d]; count[d] = sum; sum += c; }
            foreach (var key in from) to[count[(int)(key >> shift) & 0xFF]++] = key;
            var t = from; from = to; to = t;
        }
        // Four passes: the sorted keys are back in `keys`.
    }

    // Wider types: f32 keys may tie where the values differ; order such runs by the exact value, then index.
    static void Refine<T>(ReadOnlySpan<T> magnitudes, Span<ulong> keys, MergeScratch scratch) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long mark = scratch.Mark();
        var pairs = scratch.Take<(T Value, int Index)>(keys.Length);
        for (int i = 0; i < pairs.Length; i++) pairs[i] = (magnitudes[i], i);
        pairs.Sort(static (x, y) =>
        {
            bool xn = T.IsNaN(x.Value), yn = T.IsNaN(y.Value);
            int c = xn || yn ? (xn == yn ? 0 : xn ? -1 : 1) : x.Value.CompareTo(y.Value);
            return c != 0 ? c : x.Index.CompareTo(y.Index);
        });
        // Keys become (rank, index): already sorted order, so the later sort keeps it.
        for (int r = 0; r < pairs.Length; r++) keys[r] = ((ulong)(uint)r << 32) | (uint)pairs[r].Index;
        scratch.Release(mark);
    }
}
