using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelSoups.Tensors.Kernels;

namespace ModelSoups.Merging;

/// <summary>
/// "Is this element among the r largest magnitudes?" decided in one left-to-right pass, after an
/// O(n) selection. Order: larger magnitude first; equal magnitudes by lower index first — so exactly
/// r elements are taken even with ties (PEFT's <c>torch.topk</c> leaves tie order unspecified; we fix it).
/// NaN magnitudes rank last. Call <see cref="Take"/> once per element, in index order.
/// </summary>
internal unsafe struct RankCut<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
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
        if (typeof(T) == typeof(float))
        {
            // One model of the shared pass (FindOfDifferences): the sampled bracket, or the full selection it falls back to.
            var f = MemoryMarshal.Cast<T, float>(magnitudes);
            fixed (T* mp = model)
            fixed (T* bp = b)
            fixed (float* gp = f)
            {
                float* m = (float*)mp;
                Span<long> ranks = [r];
                Span<RankCut<float>> cut = [default];
                RankCut<float>.Cuts<float, SingleStorage>(&m, (float*)bp, (int)n, ranks, gp, f.Length, scratch, cut);
                return Unsafe.As<RankCut<float>, RankCut<T>>(ref cut[0]);
            }
        }
        var mags = magnitudes[..(int)n];
        System.Numerics.Tensors.TensorPrimitives.Subtract(model, b, mags);
        System.Numerics.Tensors.TensorPrimitives.Abs<T>(mags, mags);
        return Find(mags, r, scratch);
    }

    /// <summary>
    /// The cuts for ranks <paramref name="ranks"/>[i] over the magnitudes |m_i − b| of k task vectors, each exactly what
    /// <see cref="FindOfDifference"/> gives for it, with the inputs stored as f32 or bf16 (<typeparamref name="TStorage"/>;
    /// widening is exact, so these are the cuts of the widened values). The k sampled brackets are counted in one pass
    /// that reads b once and each m_i once; <paramref name="magnitudes"/> (f32, as long as the inputs) holds the k gathered
    /// brackets side by side, a k-th of it each. A bracket that misses, or that does not fit its share, falls back for that
    /// model alone to the full selection over its magnitudes (written into <paramref name="magnitudes"/>), so the cuts
    /// never depend on the sample, on k or on the share. Scratch: no more than <see cref="FindOfDifference"/> takes
    /// (<see cref="ScratchElementsFor"/>), given back.
    /// </summary>
    internal static void FindOfDifferences<TValue, TStorage>(ReadOnlyMemory<TValue>[] models, ReadOnlySpan<TValue> b, ReadOnlySpan<long> ranks,
        Span<float> magnitudes, MergeScratch scratch, Span<RankCut<float>> cuts)
        where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
    {
        ArgumentNullException.ThrowIfNull(scratch);
        using var pinned = new PinnedInputs<TValue>(models);
        fixed (TValue* bp = b)
        fixed (float* gp = magnitudes)
            RankCut<float>.Cuts<TValue, TStorage>(pinned.Pointers, bp, b.Length, ranks, gp, magnitudes.Length, scratch, cuts);
    }

    /// <summary>From this many elements on the sampled bracket is used (it selects with the radix select, whose histogram <see cref="ScratchElementsFor"/> counts).</summary>
    internal const int SampledMinimum = RadixMinimum;

    const int SampleSize = 1 << 15;

    // FindOfDifferences over pinned inputs.
    static void Cuts<TValue, TStorage>(TValue** m, TValue* b, int n, ReadOnlySpan<long> ranks, float* gathered, int room,
        MergeScratch scratch, Span<RankCut<float>> cuts)
        where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
    {
        int k = ranks.Length;
        Span<bool> done = k <= 64 ? stackalloc bool[k] : new bool[k];
        // The models being bracketed ("slots"), and their brackets [lo, hi].
        Span<int> model = k <= 64 ? stackalloc int[k] : new int[k];
        Span<float> hi = k <= 64 ? stackalloc float[k] : new float[k];
        Span<float> lo = k <= 64 ? stackalloc float[k] : new float[k];
        int slots = 0;
        for (int i = 0; i < k; i++)
        {
            long r = ranks[i];
            if (r <= 0) { cuts[i] = RankCut<float>.None; done[i] = true; }
            else if (r >= n) { cuts[i] = RankCut<float>.All; done[i] = true; }
            else if (n >= SampledMinimum && Vector256.IsHardwareAccelerated && Bracket<TValue, TStorage>(m[i], b, n, r - 1, scratch, out hi[slots], out lo[slots]))
                model[slots++] = i;
        }
        if (slots > 0)
        {
            int share = room / slots;
            Span<long> counts = slots <= 16 ? stackalloc long[4 * slots] : new long[4 * slots];
            Span<int> gatheredCount = slots <= 64 ? stackalloc int[slots] : new int[slots];
            Span<bool> full = slots <= 64 ? stackalloc bool[slots] : new bool[slots];
            counts.Clear(); gatheredCount.Clear(); full.Clear();
            var brackets = new Brackets(m, model[..slots], hi, lo, gathered, share, counts, gatheredCount, full);
            int j = 0;
            if (Vector512.IsHardwareAccelerated) j = CountBrackets<Vector512<float>, FloatLanes512, TValue, TStorage>(b, j, n, ref brackets);
            j = CountBrackets<Vector256<float>, FloatLanes256, TValue, TStorage>(b, j, n, ref brackets);
            for (; j < n; j++)
            {
                float bj = TStorage.Load(b + j);
                for (int s = 0; s < slots; s++)
                {
                    float a = MathF.Abs(TStorage.Load(m[model[s]] + j) - bj);
                    if (a > hi[s]) brackets.Above(s)++;
                    if (a == hi[s]) brackets.AtHi(s)++;
                    if (a == lo[s]) brackets.AtLo(s)++;
                    if (a > lo[s] && a < hi[s])
                    {
                        if (gatheredCount[s] < share) gathered[(long)s * share + gatheredCount[s]++] = a;
                        else full[s] = true;
                    }
                }
            }
            for (int s = 0; s < slots; s++)
            {
                int i = model[s];
                if (full[s]) continue;
                var inside = new Span<float>(gathered + (long)s * share, gatheredCount[s]);
                if (Resolve(ranks[i] - 1, hi[s], lo[s], brackets.Above(s), brackets.AtHi(s), brackets.AtLo(s), inside, scratch, out float value, out long greater))
                {
                    cuts[i] = new RankCut<float> { _value = value, _tiesAllowed = ranks[i] - greater };
                    done[i] = true;
                }
            }
        }
        // Whatever the brackets did not settle: the full selection over that model's magnitudes.
        for (int i = 0; i < k; i++)
        {
            if (done[i]) continue;
            var mags = new Span<float>(gathered, n);
            for (int j = 0; j < n; j++) mags[j] = MathF.Abs(TStorage.Load(m[i] + j) - TStorage.Load(b + j));
            cuts[i] = RankCut<float>.Find(mags, ranks[i], scratch);
        }
    }

    /// <summary>
    /// The k-th largest (0-based) and how many magnitudes are greater than it, from one bracket's counts: G above hi, E_hi
    /// equal to hi, the C gathered strictly inside (lo, hi), E_lo equal to lo — ranks [0, G) lie above the bracket,
    /// [G, G + E_hi) are hi, the next C are selected among the gathered, the next E_lo are lo; false when the k-th is
    /// outside (above hi, below lo, or a NaN, which no count holds). Equal values at the bracket's ends are counted, not
    /// gathered: with 16-bit weights few magnitudes are distinct and an end often sits on a large group of ties.
    /// </summary>
    static bool Resolve(long k, float hi, float lo, long above, long atHi, long atLo, Span<float> inside, MergeScratch scratch, out float value, out long greater)
    {
        value = hi; greater = above;
        if (k < above) return false;
        if (k < above + atHi) return true;
        long before = above + atHi;
        if (k < before + inside.Length)
        {
            long mark = scratch.Mark();
            value = RankCut<float>.SelectSingle(inside, k - before, scratch.Take<long>(1 << 16));
            scratch.Release(mark);
            greater = before + CountGreaterSingle(inside, value);
            return true;
        }
        // lo = hi: its equal values were the E_hi above.
        if (lo < hi && k < before + inside.Length + atLo)
        {
            value = lo; greater = before + inside.Length;
            return true;
        }
        return false;
    }

    /// <summary>
    /// The shared counting pass's state: per slot its model, bracket, the counts above hi, equal to hi and equal to lo
    /// (<c>4 × slot</c> … in <c>counts</c>), and the magnitudes gathered strictly inside (a share of <c>gathered</c> each).
    /// </summary>
    ref struct Brackets(void* models, ReadOnlySpan<int> model, ReadOnlySpan<float> hi, ReadOnlySpan<float> lo, float* gathered, int share,
        Span<long> counts, Span<int> gatheredCount, Span<bool> full)
    {
        public readonly void* Models = models;
        public readonly ReadOnlySpan<int> Model = model;
        public readonly ReadOnlySpan<float> Hi = hi, Lo = lo;
        public readonly float* Gathered = gathered;
        public readonly int Share = share;
        public readonly Span<long> Counts = counts;
        public readonly Span<int> GatheredCount = gatheredCount;
        public readonly Span<bool> Full = full;
        public readonly ref long Above(int slot) => ref Counts[4 * slot];
        public readonly ref long AtHi(int slot) => ref Counts[4 * slot + 1];
        public readonly ref long AtLo(int slot) => ref Counts[4 * slot + 2];
    }

    // One pass over whole vectors from j on: per slot, count |m − b| above hi, equal to hi and equal to lo, and gather
    // those strictly inside (lo, hi) without a branch per lane; returns where it stopped. Blocks of the base small enough
    // to stay in the L1 cache are read once from memory and once per model from there, so each model's loop keeps its
    // bracket and counts in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int CountBrackets<TV, TLanes, TValue, TStorage>(TValue* b, int j, int n, ref Brackets s)
        where TV : unmanaged where TLanes : struct, IFloatLanes<TV> where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
    {
        const int Block = 4096;
        var m = (TValue**)s.Models;
        int slots = s.Model.Length, share = s.Share;
        int end = j + (n - j) / TLanes.Count * TLanes.Count;
        for (int start = j; start < end; start += Block)
        {
            int stop = Math.Min(end, start + Block);
            for (int t = 0; t < slots; t++)
            {
                TValue* model = m[s.Model[t]];
                float* dst = s.Gathered + (long)t * share;
                var vhi = TLanes.Create(s.Hi[t]);
                var vlo = TLanes.Create(s.Lo[t]);
                long above = 0, atHi = 0, atLo = 0;
                int c = s.GatheredCount[t];
                bool full = false;
                for (int i = start; i < stop; i += TLanes.Count)
                {
                    var a = TLanes.Abs(TLanes.Subtract(TLanes.Load<TValue, TStorage>(model + i), TLanes.Load<TValue, TStorage>(b + i)));
                    above += BitOperations.PopCount(TLanes.Bits(TLanes.GreaterThan(a, vhi)));
                    atHi += BitOperations.PopCount(TLanes.Bits(TLanes.Equal(a, vhi)));
                    atLo += BitOperations.PopCount(TLanes.Bits(TLanes.Equal(a, vlo)));
                    var inside = TLanes.And(TLanes.GreaterThan(a, vlo), TLanes.LessThan(a, vhi));
                    // Without room for a whole vector this bracket falls back (rare: a share is n / k magnitudes).
                    if (c + TLanes.Count <= share) c += TLanes.Compress(a, inside, dst + c);
                    else full |= TLanes.Bits(inside) != 0;
                }
                s.Above(t) += above;
                s.AtHi(t) += atHi;
                s.AtLo(t) += atLo;
                s.GatheredCount[t] = c;
                s.Full[t] |= full;
            }
        }
        return end;
    }

    /// <summary>
    /// A bracket [lo, hi] of the k-th largest (0-based) of |m − b| from a deterministic stride sample, or false when the
    /// sample holds a NaN. The sample's order statistics around the target's rank, six standard deviations of that rank
    /// apart, bracket the population's (the caller checks that they did). The sample (2¹⁵ floats) is given back.
    /// </summary>
    static bool Bracket<TValue, TStorage>(TValue* m, TValue* b, int n, long k, MergeScratch scratch, out float hi, out float lo)
        where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
    {
        hi = lo = 0;
        long mark = scratch.Mark();
        try
        {
            var sp = scratch.Take<float>(SampleSize);
            for (int s = 0; s < SampleSize; s++)
            {
                int j = (int)((long)s * n / SampleSize);
                float a = MathF.Abs(TStorage.Load(m + j) - TStorage.Load(b + j));
                if (float.IsNaN(a)) return false;
                sp[s] = a;
            }
            // Rank of the target in the sample, and a margin of about six standard deviations of that rank.
            double q = (k + 0.5) / n;
            double centre = q * SampleSize;
            double margin = 6 * Math.Sqrt(SampleSize * q * (1 - q)) + 32;
            int top = (int)Math.Max(0, Math.Floor(centre - margin));
            int bottom = (int)Math.Min(SampleSize - 1, Math.Ceiling(centre + margin));
            // The values a descending sort of the sample would put at those ranks (selection: unique given the rank).
            hi = top == 0 ? float.PositiveInfinity : RankCut<float>.Select(sp, top);
            lo = bottom == SampleSize - 1 ? 0f : RankCut<float>.Select(sp, bottom);
            return true;
        }
        finally
        {
            scratch.Release(mark);
        }
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
    /// <see cref="Take"/> for a vector of consecutive elements (f32 cuts that are neither all nor none) with magnitudes
    /// <paramref name="mag"/> and <paramref name="value"/> = <see cref="Value"/> in every lane: the lanes above the cut,
    /// and of the lanes equal to it (ties: common, since differences of 16-bit weights take few distinct values) the
    /// first ones in index order while the tie budget lasts — exactly the lanes the scalar calls would take.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal TV Take<TV, TLanes>(TV mag, TV value) where TV : unmanaged where TLanes : struct, IFloatLanes<TV>
    {
        var keep = TLanes.GreaterThan(mag, value);
        uint ties = TLanes.Bits(TLanes.Equal(mag, value));
        if (!Bmi2.IsSupported)
        {
            if (ties == 0) return keep;
            int count = BitOperations.PopCount(ties);
            int taken = TakeTies(count);
            if (taken == 0) return keep;
            return TLanes.Or(keep, TLanes.FromBits(taken == count ? ties : LowestSetBits(ties, taken)));
        }
        // Without a branch (ties come and go unpredictably): take min(budget left, ties) of them, the lowest lanes
        // first (the first `taken` set bits of `ties`, deposited by pdep).
        int n = (int)Math.Min(_tiesAllowed - _tiesSeen, BitOperations.PopCount(ties));
        _tiesSeen += n;
        return TLanes.Or(keep, TLanes.FromBits(Bmi2.ParallelBitDeposit((1u << n) - 1, ties)));
    }

    /// <summary>The <paramref name="count"/> lowest set bits of <paramref name="bits"/>.</summary>
    static uint LowestSetBits(uint bits, int count)
    {
        uint result = 0;
        for (int t = 0; t < count; t++)
        {
            uint low = bits & (0u - bits);
            result |= low;
            bits ^= low;
        }
        return result;
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
