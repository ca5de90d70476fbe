using System.Runtime.Intrinsics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace ModelSoups.Merging;

/// <summary>
/// "Is this element among the r largest magnitudes?" decided in one left-to-right pass, after an
/// O(n) selection. Order: larger magnitude first; equal magnitudes by lower index first — so exactly
/// r elements are taken even with ties (PEFT's <c>torch.topk</c> leaves tie order unspecified; we fix it).
/// NaN magnitudes rank last. Call <see cref="Take"/> once per element, in index order.
/// </summary>
internal struct RankCut<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    T _value;          // magnitude of the element at rank r−1
    long _tiesAllowed; // how many elements equal to _value are taken
    long _tiesSeen;
    bool _all, _none;

    /// <summary>Takes every element.</summary>
    public static RankCut<T> All => new() { _all = true };

    /// <summary>Takes no element.</summary>
    public static RankCut<T> None => new() { _none = true };

    /// <summary>From this many f32 elements on, <see cref="Find"/> uses the radix select (its 512 KiB histogram pays off); below, quickselect in place.</summary>
    internal const int RadixMinimum = 1 << 16;

    /// <summary>Scratch elements (counted as 4 bytes) <see cref="Find"/> takes over <paramref name="elementCount"/> magnitudes: the radix select's 2¹⁶ counts.</summary>
    public static long ScratchElementsFor(long elementCount) => elementCount >= RadixMinimum ? (1 << 16) * sizeof(long) / sizeof(float) : 0;

    /// <summary>
    /// Prepares the cut for rank <paramref name="r"/> over <paramref name="magnitudes"/> (which it reorders);
    /// work space comes from <paramref name="scratch"/> and is given back before it returns.
    /// </summary>
    public static RankCut<T> Find(Span<T> magnitudes, long r, MergeScratch scratch)
    {
        long n = magnitudes.Length;
        if (r <= 0) return new RankCut<T> { _none = true };
        if (r >= n) return new RankCut<T> { _all = true };
        if (typeof(T) == typeof(float) && n >= RadixMinimum)
        {
            // The same cut as quickselect below (the k-th largest value is unique), in two linear passes.
            var f = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(magnitudes);
            ReplaceNaNSingle(f);
            long mark = scratch.Mark();
            float vf = SelectSingle(f, r - 1, scratch.Take<long>(1 << 16));
            scratch.Release(mark);
            return new RankCut<T> { _value = T.CreateTruncating(vf), _tiesAllowed = r - CountGreaterSingle(f, vf) };
        }
        for (int i = 0; i < magnitudes.Length; i++)
            if (T.IsNaN(magnitudes[i])) magnitudes[i] = T.NegativeOne;
        T v = Select(magnitudes, (int)(r - 1));
        long greater = 0;
        foreach (var m in magnitudes) if (m > v) greater++;
        return new RankCut<T> { _value = v, _tiesAllowed = r - greater };
    }

    /// <summary>
    /// The cut for rank <paramref name="r"/> over the magnitudes |<paramref name="model"/> − <paramref name="b"/>| (a task
    /// vector), exactly as <see cref="Find"/> over those magnitudes gives it. <paramref name="magnitudes"/> (as long as
    /// the inputs) is working space; the rest comes from <paramref name="scratch"/> (no more than <see cref="Find"/>
    /// takes: <see cref="ScratchElementsFor"/>) and is given back. In f32 it does not materialise the magnitudes: a
    /// deterministic sample brackets the r-th largest, one vectorised pass counts the magnitudes above the bracket and
    /// gathers the few inside it, and the exact value is selected among those; a bracket that misses (adversarial
    /// data, NaNs near the cut) falls back to <see cref="Find"/>, so the result never depends on the sample.
    /// </summary>
    public static RankCut<T> FindOfDifference(ReadOnlySpan<T> model, ReadOnlySpan<T> b, long r, Span<T> magnitudes, MergeScratch scratch)
    {
        ArgumentNullException.ThrowIfNull(scratch);
        long n = model.Length;
        if (r <= 0) return new RankCut<T> { _none = true };
        if (r >= n) return new RankCut<T> { _all = true };
        if (typeof(T) == typeof(float) && n >= SampledMinimum && Vector256.IsHardwareAccelerated)
        {
            var m = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(model);
            var bf = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(b);
            var f = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(magnitudes);
            long mark = scratch.Mark();
            try
            {
                if (TrySampledSingle(m, bf, r - 1, f, scratch, out float value, out long greater))
                    return new RankCut<T> { _value = T.CreateTruncating(value), _tiesAllowed = r - greater };
            }
            finally
            {
                scratch.Release(mark);
            }
        }
        var mags = magnitudes[..(int)n];
        System.Numerics.Tensors.TensorPrimitives.Subtract(model, b, mags);
        System.Numerics.Tensors.TensorPrimitives.Abs<T>(mags, mags);
        return Find(mags, r, scratch);
    }

    /// <summary>From this many elements on the sampled bracket is used (it selects with the radix select, whose histogram <see cref="ScratchElementsFor"/> counts).</summary>
    internal const int SampledMinimum = RadixMinimum;

    const int SampleSize = 1 << 15;

    /// <summary>
    /// The k-th largest (0-based) of |m − b| and how many are strictly greater, or false when the sampled bracket does
    /// not hold it. Only non-negative real magnitudes are bracketed: NaN compares false everywhere, so it is never
    /// counted above nor gathered, and a k-th largest among the NaNs (ranked last, as −1) misses the bracket.
    /// The sample (2¹⁵ floats) is given back before the histogram (2¹⁶ longs) is taken, so the peak is the histogram's.
    /// </summary>
    static bool TrySampledSingle(ReadOnlySpan<float> m, ReadOnlySpan<float> b, long k, Span<float> gathered, MergeScratch scratch, out float value, out long greater)
    {
        value = 0; greater = 0;
        int n = m.Length;
        // A stride sample (deterministic), sorted descending: its order statistics bracket the population's.
        float hi, lo;
        long mark = scratch.Mark();
        {
            var sp = scratch.Take<float>(SampleSize);
            for (int s = 0; s < SampleSize; s++)
            {
                int j = (int)((long)s * n / SampleSize);
                float a = MathF.Abs(m[j] - b[j]);
                if (float.IsNaN(a)) return false;
                sp[s] = a;
            }
            sp.Sort();
            sp.Reverse();
            // Rank of the target in the sample, and a margin of about six standard deviations of that rank.
            double q = (k + 0.5) / n;
            double centre = q * SampleSize;
            double margin = 6 * Math.Sqrt(SampleSize * q * (1 - q)) + 32;
            int top = (int)Math.Max(0, Math.Floor(centre - margin));
            int bottom = (int)Math.Min(SampleSize - 1, Math.Ceiling(centre + margin));
            hi = top == 0 ? float.PositiveInfinity : sp[top];
            lo = bottom == SampleSize - 1 ? 0f : sp[bottom];
        }
        scratch.Release(mark);

        // One pass: count |d| > hi, gather lo ≤ |d| ≤ hi.
        long above = 0;
        int count = 0, i = 0;
        var vhi = Vector256.Create(hi);
        var vlo = Vector256.Create(lo);
        for (; i <= n - 8; i += 8)
        {
            var a = Vector256.Abs(Vector256.Create(m.Slice(i, 8)) - Vector256.Create(b.Slice(i, 8)));
            above += BitOperations.PopCount(Vector256.ExtractMostSignificantBits(Vector256.GreaterThan(a, vhi)));
            uint inside = Vector256.ExtractMostSignificantBits(Vector256.GreaterThanOrEqual(a, vlo) & Vector256.LessThanOrEqual(a, vhi));
            while (inside != 0)
            {
                int lane = BitOperations.TrailingZeroCount(inside);
                gathered[count++] = a.GetElement(lane);
                inside &= inside - 1;
            }
        }
        for (; i < n; i++)
        {
            float a = MathF.Abs(m[i] - b[i]);
            if (a > hi) above++;
            else if (a >= lo && a <= hi) gathered[count++] = a;
        }
        // The bracket holds the k-th largest when it is neither above it nor below it.
        if (k < above || k >= above + count) return false;
        var inBracket = gathered[..count];
        value = SelectSingle(inBracket, k - above, scratch.Take<long>(1 << 16));
        greater = above + CountGreaterSingle(inBracket, value);
        return true;
    }

    /// <summary>Keeps everything.</summary>
    public readonly bool IsAll => _all;

    /// <summary>Keeps nothing.</summary>
    public readonly bool IsNone => _none;

    /// <summary>The cut value: every magnitude above it is kept; equal ones only up to the tie budget, in index order.</summary>
    public readonly T Value => _value;

    /// <summary>True when the next element (in index order) with magnitude <paramref name="mag"/> has rank &lt; r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Take(T mag)
    {
        if (_all) return true;
        if (_none) return false;
        if (mag > _value) return true;
        if (mag == _value && _tiesSeen < _tiesAllowed) { _tiesSeen++; return true; }
        return false;
    }

    /// <summary>
    /// Of <paramref name="count"/> consecutive elements whose magnitude equals <see cref="Value"/> (in index order), how
    /// many the next calls of <see cref="Take"/> would take — the first ones, up to the tie budget left — and takes them.
    /// </summary>
    public int TakeTies(int count)
    {
        if (_all) return count;
        if (_none) return 0;
        int taken = (int)Math.Min(_tiesAllowed - _tiesSeen, count);
        _tiesSeen += taken;
        return taken;
    }

    /// <summary>
    /// The k-th largest value (0-based) of <paramref name="a"/> without reordering it: a two-pass
    /// radix select on the float bits mapped to order-preserving unsigned keys (16 high bits, then
    /// the 16 low bits within the chosen bucket). Two linear, branch-light passes instead of
    /// quickselect's data-dependent partitioning; same result (the value is unique given k).
    /// </summary>
    internal static float SelectSingle(ReadOnlySpan<float> a, long k) => SelectSingle(a, k, new long[1 << 16]);

    /// <summary>As <see cref="SelectSingle(ReadOnlySpan{float}, long)"/>, counting in <paramref name="h"/> (2¹⁶ elements).</summary>
    internal static float SelectSingle(ReadOnlySpan<float> a, long k, Span<long> h)
    {
        var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(a);
        h.Clear();
        foreach (var b in bits) h[(int)(Key(b) >> 16)]++;
        int high = (1 << 16) - 1;
        long above = 0;
        while (above + h[high] <= k) above += h[high--];
        h.Clear();
        foreach (var b in bits)
        {
            uint key = Key(b);
            if ((int)(key >> 16) == high) h[(int)(key & 0xFFFF)]++;
        }
        int low = (1 << 16) - 1;
        while (above + h[low] <= k) above += h[low--];
        return FromKey(((uint)high << 16) | (uint)low);
    }

    // NaN magnitudes rank last: they become −1, below every real magnitude.
    static void ReplaceNaNSingle(Span<float> a)
    {
        int i = 0;
        var minusOne = Vector256.Create(-1f);
        for (; i <= a.Length - 8; i += 8)
        {
            var x = Vector256.Create(a.Slice(i, 8));
            var nan = Vector256.IsNaN(x);
            if (nan != Vector256<float>.Zero)
                Vector256.ConditionalSelect(nan, minusOne, x).CopyTo(a.Slice(i, 8));
        }
        for (; i < a.Length; i++) if (float.IsNaN(a[i])) a[i] = -1f;
    }

    static long CountGreaterSingle(ReadOnlySpan<float> a, float v)
    {
        long count = 0;
        int i = 0;
        var vv = Vector256.Create(v);
        for (; i <= a.Length - 8; i += 8)
            count += BitOperations.PopCount(Vector256.ExtractMostSignificantBits(
                Vector256.GreaterThan(Vector256.Create(a.Slice(i, 8)), vv)));
        for (; i < a.Length; i++) if (a[i] > v) count++;
        return count;
    }

    // IEEE order as unsigned order: flip all bits of negatives, set the sign bit of non-negatives.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint Key(uint bits) => (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;

    static float FromKey(uint key) => BitConverter.UInt32BitsToSingle((key & 0x8000_0000u) != 0 ? key & 0x7FFF_FFFFu : ~key);

    // Quickselect (Hoare, median of three) for the k-th largest, falling back to a sort when the
    // recursion degrades, so the worst case stays O(n log n).
    static T Select(Span<T> a, int k)
    {
        int lo = 0, hi = a.Length - 1, budget = 2 * BitOperations.Log2((uint)a.Length) + 8;
        while (hi > lo)
        {
            if (budget-- == 0)
            {
                var part = a[lo..(hi + 1)];
                part.Sort();
                part.Reverse();
                return a[k];
            }
            int mid = lo + (hi - lo) / 2;
            // median of three, descending
            if (a[mid] > a[lo]) (a[mid], a[lo]) = (a[lo], a[mid]);
            if (a[hi] > a[lo]) (a[hi], a[lo]) = (a[lo], a[hi]);
            if (a[hi] > a[mid]) (a[hi], a[mid]) = (a[mid], a[hi]);
            T pivot = a[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] > pivot) i++;
                while (a[j] < pivot) j--;
                if (i <= j) { (a[i], a[j]) = (a[j], a[i]); i++; j--; }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return a[k];
        }
        return a[k];
    }
}
