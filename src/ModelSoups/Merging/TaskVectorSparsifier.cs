using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelSoups.Tensors.Kernels;

namespace ModelSoups.Merging;

/// <summary>
/// The sparsification unit of the task-vector family (mergekit <c>sparsify</c>) for one model and
/// one tensor: it turns τ = m − b into the kept τ̂ one chunk at a time, in index order. A tensor is
/// split into segments (the whole tensor, or its rows for row-wise methods); <see cref="BeginSegment"/>
/// prepares the segment's cut or probabilities, then <see cref="Fill"/> is called for consecutive
/// chunks of it. Deterministic: cuts break ties by index, random draws come from the
/// counter-based <see cref="MergeSeed"/> stream at the element's flat index.
/// </summary>
internal sealed class TaskVectorSparsifier<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly TaskVectorSparsification _kind;
    readonly double _density, _gamma, _epsilon;
    readonly ulong _seed;
    readonly bool _divideByKeep;
    readonly MergeScratch _scratch;
    readonly Memory<T> _keep; // DELLA: keep probability of each element of the current segment
    RankCut<T> _keepCut = RankCut<T>.All, _dropCut = RankCut<T>.None;
    int _segmentPosition;
    Memory<ulong> _kept;     // DELLA: keep decisions recorded by the first of two passes
    bool _recording, _replaying;

    /// <param name="kind">The sparsification.</param>
    /// <param name="density">Fraction kept (top-k, outliers) or keep probability (random, DELLA).</param>
    /// <param name="gamma">Outlier fraction (magnitude outliers).</param>
    /// <param name="epsilon">DELLA's probability spread.</param>
    /// <param name="seed">This model's random stream.</param>
    /// <param name="divideByKeep">Random and DELLA: divide survivors by their keep probability (the papers' rescale).</param>
    /// <param name="segmentLength">Longest segment (DELLA keeps one probability per element of it).</param>
    /// <param name="scratch">Where the per-segment state and the ranking's work space are taken from.</param>
    public TaskVectorSparsifier(TaskVectorSparsification kind, double density, double gamma, double epsilon, ulong seed, bool divideByKeep, int segmentLength, MergeScratch scratch)
    {
        _kind = kind; _density = density; _gamma = gamma; _epsilon = epsilon; _seed = seed; _divideByKeep = divideByKeep;
        _scratch = scratch;
        if (kind == TaskVectorSparsification.DellaMagnitudeRanked) _keep = scratch.TakeMemory<T>(Math.Max(1, segmentLength));
    }

    /// <summary>
    /// DELLA with two passes over a tensor (the L1 rescale's norms, then the merge): the first pass
    /// records its keep decisions (one bit per element) and the second replays them instead of
    /// ranking every row again. Other sparsifications recompute cheaply and ignore this.
    /// </summary>
    public void RecordForReplay(int elements)
    {
        if (_kind != TaskVectorSparsification.DellaMagnitudeRanked) return;
        _kept = _scratch.TakeMemory<ulong>((elements + 63) / 64);
        _kept.Span.Clear();   // bits are or-ed in
        _recording = true;
    }

    /// <summary>Switches from recording to replaying (see <see cref="RecordForReplay"/>).</summary>
    public void Replay()
    {
        if (!_recording) return;
        _recording = false;
        _replaying = true;
    }

    /// <summary>Whether <see cref="BeginSegment"/> needs the magnitude scratch.</summary>
    public bool NeedsScratch => _kind is TaskVectorSparsification.Magnitude or TaskVectorSparsification.MagnitudeOutliers or TaskVectorSparsification.DellaMagnitudeRanked;

    /// <summary>Prepares segment <paramref name="model"/> − <paramref name="b"/>; <paramref name="scratch"/> holds at least its length.</summary>
    public void BeginSegment(ReadOnlySpan<T> model, ReadOnlySpan<T> b, Span<T> scratch)
    {
        _segmentPosition = 0;
        int len = model.Length;
        var mags = NeedsScratch ? scratch[..len] : default;
        // PEFT/mergekit: k = int(density · numel), computed in double like Python.
        long keep = (long)(_density * len);
        switch (_kind)
        {
            case TaskVectorSparsification.Magnitude:
                if (_density >= 1) keep = len;
                _keepCut = RankCut<T>.FindOfDifference(model, b, keep, mags, _scratch);
                _dropCut = RankCut<T>.None;
                break;
            case TaskVectorSparsification.MagnitudeOutliers:
            {
                long top = (long)(_gamma * len);
                // floor(gamma·n) = 0 drops nothing (mergekit's slice indices[n_bot:-0] is empty and zeroes everything).
                // When gamma + density > 1, drop fewer outliers to keep the density (mergekit magnitude_outliers).
                if (top + keep > len) top = len - keep;
                Magnitudes(model, b, mags);
                _dropCut = RankCut<T>.Find(mags, top, _scratch);
                Magnitudes(model, b, mags);
                _keepCut = RankCut<T>.Find(mags, top + keep, _scratch);
                break;
            }
            case TaskVectorSparsification.DellaMagnitudeRanked:
                if (_replaying) break;
                Magnitudes(model, b, mags);
                DellaProbabilities.Compute<T>(mags, _density, _epsilon, _keep.Span[..len], _scratch);
                break;
        }
    }

    /// <summary>
    /// The top-k magnitude cut of the current segment when this sparsifier is a plain trim (TIES' magnitude
    /// sparsification, or none: keep all), for applying the cut elsewhere (<c>FusedTiesTests</c> feeds it to <see cref="FusedTies"/>, which the method now runs with the cuts of one shared pass, <see cref="RankCut{T}.FindOfDifferences"/>);
    /// false for every other sparsification.
    /// </summary>
    public bool TryGetTopKCut(out RankCut<T> cut)
    {
        cut = _kind == TaskVectorSparsification.None ? RankCut<T>.All : _keepCut;
        return _kind is TaskVectorSparsification.None || (_kind == TaskVectorSparsification.Magnitude && _dropCut.IsNone);
    }

    /// <summary>
    /// Writes τ̂ for the next chunk of the segment: <paramref name="row"/>[j] = kept ? τ_j (rescaled) : 0.
    /// <paramref name="index"/> is the flat index of the chunk's first element in the whole tensor.
    /// </summary>
    public void Fill(ReadOnlySpan<T> m, ReadOnlySpan<T> b, long index, Span<T> row)
    {
        int n = row.Length;
        int start = _segmentPosition;
        _segmentPosition += n;
        switch (_kind)
        {
            case TaskVectorSparsification.None:
                TensorPrimitives.Subtract(m, b, row);
                return;
            case TaskVectorSparsification.Random:
            {
                T scale = T.CreateChecked(_density);
                for (int j = 0; j < n; j++)
                {
                    T d = m[j] - b[j];
                    if (_divideByKeep) d /= scale; // DARE paper / PEFT random_pruning: survivors / density
                    row[j] = MergeSeed.UniformAt(_seed, index + j) < _density ? d : T.Zero;
                }
                return;
            }
            case TaskVectorSparsification.DellaMagnitudeRanked:
            {
                if (_replaying)
                {
                    var bits = _kept.Span;
                    for (int j = 0; j < n; j++)
                        row[j] = (bits[(int)((index + j) >> 6)] >> (int)((index + j) & 63) & 1) != 0 ? m[j] - b[j] : T.Zero;
                    return;
                }
                var keep = _keep.Span.Slice(start, n);
                if (_recording)
                {
                    var bits = _kept.Span;
                    for (int j = 0; j < n; j++)
                    {
                        bool kept = MergeSeed.UniformAt(_seed, index + j) < double.CreateChecked(keep[j]);
                        if (kept) bits[(int)((index + j) >> 6)] |= 1UL << (int)((index + j) & 63);
                        row[j] = kept ? m[j] - b[j] : T.Zero; // recording happens only for the L1 rescale, never with divideByKeep
                    }
                    return;
                }
                for (int j = 0; j < n; j++)
                {
                    T d = m[j] - b[j];
                    if (_divideByKeep) d /= keep[j]; // DELLA paper: survivors / p_i
                    row[j] = MergeSeed.UniformAt(_seed, index + j) < double.CreateChecked(keep[j]) ? d : T.Zero;
                }
                return;
            }
            default:
                if (typeof(T) == typeof(float) && _dropCut.IsNone && Vector256.IsHardwareAccelerated)
                {
                    FillKeptSingle(Cast(m), Cast(b), MemoryMarshal.Cast<T, float>(row), ref Unsafe.As<RankCut<T>, RankCut<float>>(ref _keepCut));
                    return;
                }
                for (int j = 0; j < n; j++)
                {
                    T d = m[j] - b[j];
                    T mag = T.Abs(d);
                    bool below = _keepCut.Take(mag);
                    bool outlier = _dropCut.Take(mag); // both cuts must see every element
                    row[j] = below && !outlier ? d : T.Zero;
                }
                return;
        }
    }

    static ReadOnlySpan<float> Cast(ReadOnlySpan<T> x) => MemoryMarshal.Cast<T, float>(x);

    static void Magnitudes(ReadOnlySpan<T> model, ReadOnlySpan<T> b, Span<T> mags)
    {
        TensorPrimitives.Subtract(model, b, mags);
        TensorPrimitives.Abs<T>(mags, mags);
    }

    /// <summary>
    /// f32 fast path of magnitude trimming: row = (m − b) where |m − b| is above the cut, else 0, eight lanes at a
    /// time. Lanes whose magnitude equals the cut value are ties: the cut takes the first of them in index order up to
    /// its tie budget (<see cref="RankCut{T}.TakeTies"/>, inside the lane form of <see cref="RankCut{T}.Take"/>), so the vector
    /// takes exactly the lanes the scalar loop's <see cref="RankCut{T}.Take"/> would.
    /// </summary>
    static void FillKeptSingle(ReadOnlySpan<float> m, ReadOnlySpan<float> b, Span<float> row, ref RankCut<float> cut)
    {
        int n = row.Length, j = 0;
        if (cut.IsAll) { TensorPrimitives.Subtract(m, b, row); return; }
        if (cut.IsNone) { row.Clear(); return; }
        var value = Vector256.Create(cut.Value);
        for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
        {
            var d = Vector256.Create(m.Slice(j, Vector256<float>.Count)) - Vector256.Create(b.Slice(j, Vector256<float>.Count));
            var keep = cut.Take<Vector256<float>, FloatLanes256>(Vector256.Abs(d), value);
            Vector256.ConditionalSelect(keep, d, Vector256<float>.Zero).CopyTo(row.Slice(j, Vector256<float>.Count));
        }
        for (; j < n; j++)
        {
            float d = m[j] - b[j];
            row[j] = cut.Take(MathF.Abs(d)) ? d : 0f;
        }
    }
}
