using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelSoups.Merging;

/// <summary>
/// The shared machinery of the task-vector family (task arithmetic, TIES, DARE, Breadcrumbs): like
/// mergekit's <c>GeneralizedTaskArithmeticMerge</c>, a method is a choice of sparsification of each
/// τ_i = θ_i − θ_0 and of combination (weighted sum, or TIES sign election + disjoint mean).
/// Result: θ_0 + λ·δ.
/// </summary>
public abstract class TaskVectorMerge : MergeMethod
{
    const int Chunk = 256;

    /// <summary>How each task vector is sparsified before combining.</summary>
    protected enum Sparsification
    {
        /// <summary>Keep the top floor(density·n) magnitudes of the tensor (TIES trim / PEFT magnitude_prune).</summary>
        Magnitude,
        /// <summary>Keep each entry with probability density, rescale by 1/density (DARE).</summary>
        Random,
        /// <summary>Drop the top floor(gamma·n) magnitudes, keep the next floor(density·n) (Breadcrumbs).</summary>
        MagnitudeOutliers,
    }

    /// <summary>The sparsification this method applies.</summary>
    protected abstract Sparsification Sparsify { get; }

    /// <summary>True for TIES sign election and disjoint mean; false for a weighted sum.</summary>
    protected abstract bool UsesTies { get; }

    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;

    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters => _parameters ??= BuildParameters();
    IReadOnlyList<MergeParameterDef>? _parameters;

    IReadOnlyList<MergeParameterDef> BuildParameters()
    {
        var list = new List<MergeParameterDef>
        {
            WeightDef,
            DensityDef(Sparsify switch
            {
                Sparsification.Random => "Probability of keeping each task-vector entry; survivors are scaled by 1/density.",
                Sparsification.MagnitudeOutliers => "Fraction of entries kept after the gamma outliers (next largest magnitudes).",
                _ => "Fraction of largest-magnitude task-vector entries kept per tensor (1 keeps all).",
            }),
            LambdaDef,
            new("normalize", ParameterScope.Global, ParameterKind.Flag, UsesTies,
                UsesTies ? "mergekit variant only: divide by the sum of the agreeing weights." : "Divide the weighted sum by the sum of weights."),
        };
        if (Sparsify == Sparsification.MagnitudeOutliers)
        {
            list.Add(new("gamma", ParameterScope.PerModel, ParameterKind.Number, 0.01, "Fraction of largest-magnitude entries dropped as outliers.") { Min = 0, Max = 1, MaxInclusive = false });
            list.Add(new("granularity", ParameterScope.Global, ParameterKind.Choice, "row", "Where fractions are counted: per row (last dimension, the Breadcrumbs code) or per tensor (mergekit).") { Choices = ["row", "tensor"] });
        }
        if (UsesTies)
        {
            list.Add(new("majority_sign_method", ParameterScope.Global, ParameterKind.Choice, "total", "Sign election: sign of the sum (total) or of the count of signs (frequency).") { Choices = ["total", "frequency"] });
            list.Add(new("ties_variant", ParameterScope.Global, ParameterKind.Choice, "peft", "peft: elect from unweighted vectors, divide by the agreeing count; mergekit: elect from weighted vectors, divide by the agreeing weights.") { Choices = ["peft", "mergekit"] });
        }
        return list;
    }

    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters p) => Sparsify switch
    {
        Sparsification.Random => true,
        Sparsification.Magnitude => Enumerable.Range(0, p.ModelCount).All(i => p.Number("density", i) >= 1),
        _ => false,
    };

    /// <inheritdoc/>
    public override long ScratchElements(long elementCount, int modelCount) =>
        (Sparsify == Sparsification.Random ? 0 : elementCount) + (long)modelCount * Chunk;

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output)
    {
        var p = input.Parameters;
        int k = p.ModelCount, n = output.Length;
        var b = input.Base.Span;
        var w = new T[k];
        var density = new double[k];
        var seeds = new ulong[k];
        for (int i = 0; i < k; i++)
        {
            w[i] = T.CreateChecked(p.Number("weight", i));
            density[i] = p.Number("density", i);
            seeds[i] = MergeSeed.ForModel(input.Seed, i);
        }
        T lambda = T.CreateChecked(p.Number("lambda"));
        bool normalize = p.Flag("normalize");
        bool frequency = UsesTies && p.Choice("majority_sign_method") == "frequency";
        bool mergekitTies = UsesTies && p.Choice("ties_variant") == "mergekit";

        // Sum-of-weights divisor for the non-TIES path (mergekit: |Σw| < 1e-8 → 1).
        T weightSum = T.Zero;
        foreach (var wi in w) weightSum += wi;
        T sumDivisor = normalize && T.Abs(weightSum) >= T.CreateChecked(1e-8) ? weightSum : T.One;

        int segment = n;
        if (Sparsify == Sparsification.MagnitudeOutliers && p.Choice("granularity") == "row" && input.Shape.Length >= 1 && input.Shape[^1] > 0)
            segment = (int)Math.Min(n, input.Shape[^1]);
        bool needCuts = Sparsify != Sparsification.Random && !IsElementwise(p);

        var keepBelow = new RankCut<T>[k]; // taken ⇔ rank < upper bound
        var dropBelow = new RankCut<T>[k]; // outliers: rank < gamma cut
        T[]? scratch = needCuts ? ArrayPool<T>.Shared.Rent(Math.Max(segment, 1)) : null;
        Span<T> v = k <= 64 ? stackalloc T[k] : new T[k];
        T[] vals = ArrayPool<T>.Shared.Rent(k * Chunk);
        try
        {
            for (int s = 0; s < n; s += segment)
            {
                int len = Math.Min(segment, n - s);
                var bs = b.Slice(s, len);
                for (int i = 0; i < k; i++)
                {
                    var ms = input.Models[i].Span.Slice(s, len);
                    if (!needCuts) { keepBelow[i] = RankCut<T>.All; dropBelow[i] = RankCut<T>.None; continue; }
                    var mags = scratch.AsSpan(0, len);
                    // PEFT/mergekit: k = int(density · numel), computed in double like Python.
                    long keep = (long)(density[i] * len);
                    if (Sparsify == Sparsification.Magnitude)
                    {
                        if (density[i] >= 1) keep = len;
                        Magnitudes(ms, bs, mags);
                        keepBelow[i] = RankCut<T>.Find(mags, keep);
                        dropBelow[i] = RankCut<T>.None;
                    }
                    else
                    {
                        long top = (long)(p.Number("gamma", i) * len);
                        // floor(gamma·n) = 0 drops nothing (a popular port zeroed everything here).
                        // When gamma + density > 1, drop fewer outliers to keep the density (mergekit magnitude_outliers).
                        if (top + keep > len) top = len - keep;
                        long upper = top + keep;
                        Magnitudes(ms, bs, mags);
                        dropBelow[i] = RankCut<T>.Find(mags, top);
                        Magnitudes(ms, bs, mags);
                        keepBelow[i] = RankCut<T>.Find(mags, upper);
                    }
                }

                // Chunks of C elements: each model's kept deltas go to row i of `vals` (span fetched
                // once per chunk, cuts advance in index order), then each column is combined.
                for (int c = s; c < s + len; c += Chunk)
                {
                    int cl = Math.Min(Chunk, s + len - c);
                    var bc = b.Slice(c, cl);
                    for (int i = 0; i < k; i++)
                    {
                        var mc = input.Models[i].Span.Slice(c, cl);
                        var row = vals.AsSpan(i * Chunk, cl);
                        ref var keepCut = ref keepBelow[i];
                        ref var dropCut = ref dropBelow[i];
                        T scale = density[i] < 1 ? T.CreateChecked(density[i]) : T.One;
                        if (typeof(T) == typeof(float) && Sparsify != Sparsification.Random && dropCut.IsNone && Vector256.IsHardwareAccelerated)
                        {
                            FillKeptSingle(Cast(mc), Cast(bc), Cast(row), ref Unsafe.As<RankCut<T>, RankCut<float>>(ref keepCut));
                            continue;
                        }
                        for (int jj = 0; jj < cl; jj++)
                        {
                            T d = mc[jj] - bc[jj];
                            bool kept;
                            if (Sparsify == Sparsification.Random)
                            {
                                kept = MergeSeed.UniformAt(seeds[i], input.Offset + c + jj) < density[i];
                                d /= scale; // PEFT random_pruning: pruned / density
                            }
                            else
                            {
                                T mag = T.Abs(d);
                                bool below = keepCut.Take(mag);
                                bool outlier = dropCut.Take(mag); // both cuts must see every element
                                kept = below && !outlier;
                            }
                            row[jj] = kept ? d : T.Zero;
                        }
                    }
                    if (typeof(T) == typeof(float) && UsesTies && !frequency && !mergekitTies && Vector256.IsHardwareAccelerated)
                    {
                        DisjointMeanSingle(MemoryMarshal.Cast<T, float>(vals.AsSpan(0, k * Chunk)), k, Chunk, Cast(w), Cast(bc),
                            Unsafe.As<T, float>(ref lambda), MemoryMarshal.Cast<T, float>(output.Slice(c, cl)));
                        continue;
                    }
                    for (int jj = 0; jj < cl; jj++)
                    {
                        for (int i = 0; i < k; i++) v[i] = vals[i * Chunk + jj];
                        output[c + jj] = bc[jj] + lambda * (UsesTies ? Disjoint(v, w, frequency, mergekitTies, normalize) : WeightedSum(v, w) / sumDivisor);
                    }
                }
            }
        }
        finally
        {
            if (scratch is not null) ArrayPool<T>.Shared.Return(scratch);
            ArrayPool<T>.Shared.Return(vals);
        }
    }

    static ReadOnlySpan<float> Cast<T>(ReadOnlySpan<T> x) where T : unmanaged => MemoryMarshal.Cast<T, float>(x);

    static Span<float> Cast<T>(Span<T> x) where T : unmanaged => MemoryMarshal.Cast<T, float>(x);

    /// <summary>
    /// f32 fast path of the trimming loop: row = (m − b) where |m − b| is above the cut, else 0,
    /// eight lanes at a time. A vector holding a magnitude equal to the cut value goes through
    /// <see cref="RankCut{T}.Take"/> lane by lane, so ties are still taken in index order exactly
    /// as the scalar loop takes them.
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
            var mag = Vector256.Abs(d);
            if (Vector256.EqualsAny(mag, value))
            {
                for (int l = 0; l < Vector256<float>.Count; l++)
                {
                    float dl = d.GetElement(l);
                    row[j + l] = cut.Take(MathF.Abs(dl)) ? dl : 0f;
                }
                continue;
            }
            Vector256.ConditionalSelect(Vector256.GreaterThan(mag, value), d, Vector256<float>.Zero).CopyTo(row.Slice(j, Vector256<float>.Count));
        }
        for (; j < n; j++)
        {
            float d = m[j] - b[j];
            row[j] = cut.Take(MathF.Abs(d)) ? d : 0f;
        }
    }

    /// <summary>
    /// f32 fast path of <see cref="Disjoint{T}"/> for PEFT's TIES with the "total" sign rule, eight
    /// columns at a time, with the same operations in the same order per column (so the same bits):
    /// elect = Σ τ̂_i; keep the nonzero τ̂_i whose sign matches (elect ≥ 0 counts as +); output =
    /// b + λ · Σ w_i τ̂_i / max(1, count).
    /// </summary>
    static void DisjointMeanSingle(ReadOnlySpan<float> vals, int k, int stride, ReadOnlySpan<float> w, ReadOnlySpan<float> b, float lambda, Span<float> output)
    {
        int n = output.Length, j = 0;
        var vl = Vector256.Create(lambda);
        for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
        {
            var elect = Vector256<float>.Zero;
            for (int i = 0; i < k; i++) elect += Vector256.Create(vals.Slice(i * stride + j, Vector256<float>.Count));
            var positive = Vector256.GreaterThanOrEqual(elect, Vector256<float>.Zero);
            var mixed = Vector256<float>.Zero;
            var divisor = Vector256<float>.Zero;
            for (int i = 0; i < k; i++)
            {
                var x = Vector256.Create(vals.Slice(i * stride + j, Vector256<float>.Count));
                var agree = Vector256.ConditionalSelect(positive, Vector256.GreaterThan(x, Vector256<float>.Zero), Vector256.LessThan(x, Vector256<float>.Zero));
                mixed += Vector256.ConditionalSelect(agree, Vector256.Create(w[i]) * x, Vector256<float>.Zero);
                divisor += Vector256.ConditionalSelect(agree, Vector256<float>.One, Vector256<float>.Zero);
            }
            var delta = mixed / Vector256.Max(divisor, Vector256<float>.One);
            (Vector256.Create(b.Slice(j, Vector256<float>.Count)) + vl * delta).CopyTo(output.Slice(j, Vector256<float>.Count));
        }
        Span<float> v = stackalloc float[k];
        for (; j < n; j++)
        {
            for (int i = 0; i < k; i++) v[i] = vals[i * stride + j];
            output[j] = b[j] + lambda * Disjoint<float>(v, w, false, false, false);
        }
    }

    static void Magnitudes<T>(ReadOnlySpan<T> model, ReadOnlySpan<T> b, Span<T> mags) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(model, b, mags);
        TensorPrimitives.Abs<T>(mags, mags);
    }

    static T WeightedSum<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> w) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T acc = T.Zero;
        for (int i = 0; i < v.Length; i++) acc += w[i] * v[i];
        return acc;
    }

    // TIES disjoint merge for one element. Zero entries have sign 0 and never agree; a zero
    // election picks + (PEFT calculate_majority_sign_mask / mergekit get_mask: ≥ 0 → +1).
    static T Disjoint<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> w, bool frequency, bool mergekit, bool normalize) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T elect = T.Zero;
        for (int i = 0; i < v.Length; i++)
        {
            T x = mergekit ? w[i] * v[i] : v[i];
            elect += frequency ? T.CreateTruncating(T.Sign(x)) : x;
        }
        bool positive = elect >= T.Zero;
        T mixed = T.Zero, divisor = T.Zero;
        for (int i = 0; i < v.Length; i++)
        {
            T wv = w[i] * v[i];
            T x = mergekit ? wv : v[i];
            if (x == T.Zero || T.IsNaN(x) || (x > T.Zero) != positive) continue;
            mixed += wv;
            divisor += mergekit ? w[i] : T.One;
        }
        if (!mergekit) return mixed / T.Max(divisor, T.One);
        return normalize && divisor != T.Zero ? mixed / divisor : mixed;
    }
}
