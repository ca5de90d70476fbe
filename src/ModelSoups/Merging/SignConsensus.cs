using System.Numerics;
using System.Runtime.Intrinsics;

namespace ModelSoups.Merging;

/// <summary>
/// The consensus units of the task-vector family, per element over the k sparsified task vectors
/// τ̂_i with weights w_i (mergekit <c>get_mask</c> + the disjoint mean of <c>GTATask</c>; PEFT
/// <c>calculate_majority_sign_mask</c> + <c>disjoint_merge</c>). Zero entries have sign 0 and never
/// agree; a zero election picks + (both references: ≥ 0 → +1).
/// <list type="bullet">
/// <item><b>mergekit</b>: elect from the weighted w_i·τ̂_i (sum, or count of signs); δ = Σ_agree w_i τ̂_i,
/// divided by Σ_agree w_i (0 → 1) when normalising.</item>
/// <item><b>peft</b> (TIES paper): elect from the unweighted τ̂_i; δ = Σ_agree w_i τ̂_i / max(1, #agree).</item>
/// </list>
/// The f32 kernels run eight columns at a time with the scalar code's operations in the same order
/// per column, so they give the same bits.
/// </summary>
public static class SignConsensus
{
    /// <summary>Weighted sum Σ w_i v_i of one column.</summary>
    public static T WeightedSum<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> w) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T acc = T.Zero;
        for (int i = 0; i < v.Length; i++) acc += w[i] * v[i];
        return acc;
    }

    /// <summary>Sign election and disjoint mean of one column <paramref name="v"/> (one entry per model).</summary>
    /// <param name="v">τ̂_i of this element.</param>
    /// <param name="w">Weights.</param>
    /// <param name="count">Elect by the count of signs (mergekit <c>count</c>, PEFT <c>frequency</c>) instead of the sum.</param>
    /// <param name="mergekit">mergekit's variant (weighted election, weight divisor) instead of PEFT's.</param>
    /// <param name="normalize">mergekit variant: divide by the agreeing weights.</param>
    public static T Disjoint<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> w, bool count, bool mergekit, bool normalize) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T elect = T.Zero;
        for (int i = 0; i < v.Length; i++)
        {
            T x = mergekit ? w[i] * v[i] : v[i];
            elect += count ? T.CreateTruncating(T.Sign(x)) : x;
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

    /// <summary>
    /// output = b + λ·Disjoint(column) for every column of the k rows of <paramref name="vals"/>
    /// (row i at i·<paramref name="stride"/>), "sum" election; f32, vectorised.
    /// </summary>
    public static void DisjointSingle(ReadOnlySpan<float> vals, int k, int stride, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        float lambda, bool mergekit, bool normalize, Span<float> output)
    {
        int n = output.Length, j = 0;
        const int L = 8;
        if (Vector256.IsHardwareAccelerated)
        {
            var vl = Vector256.Create(lambda);
            for (; j <= n - L; j += L)
            {
                var elect = Vector256<float>.Zero;
                for (int i = 0; i < k; i++)
                {
                    var x = Vector256.Create(vals.Slice(i * stride + j, L));
                    elect += mergekit ? Vector256.Create(w[i]) * x : x;
                }
                var positive = Vector256.GreaterThanOrEqual(elect, Vector256<float>.Zero);
                var mixed = Vector256<float>.Zero;
                var divisor = Vector256<float>.Zero;
                for (int i = 0; i < k; i++)
                {
                    var wi = Vector256.Create(w[i]);
                    var wv = wi * Vector256.Create(vals.Slice(i * stride + j, L));
                    var x = mergekit ? wv : Vector256.Create(vals.Slice(i * stride + j, L));
                    var agree = Vector256.ConditionalSelect(positive, Vector256.GreaterThan(x, Vector256<float>.Zero), Vector256.LessThan(x, Vector256<float>.Zero));
                    mixed += Vector256.ConditionalSelect(agree, wv, Vector256<float>.Zero);
                    divisor += Vector256.ConditionalSelect(agree, mergekit ? wi : Vector256<float>.One, Vector256<float>.Zero);
                }
                Vector256<float> delta;
                if (!mergekit) delta = mixed / Vector256.Max(divisor, Vector256<float>.One);
                else if (normalize) delta = mixed / Vector256.ConditionalSelect(Vector256.Equals(divisor, Vector256<float>.Zero), Vector256<float>.One, divisor);
                else delta = mixed;
                (Vector256.Create(b.Slice(j, L)) + vl * delta).CopyTo(output.Slice(j, L));
            }
        }
        Span<float> v = k <= 64 ? stackalloc float[k] : new float[k];
        for (; j < n; j++)
        {
            for (int i = 0; i < k; i++) v[i] = vals[i * stride + j];
            output[j] = b[j] + lambda * Disjoint<float>(v, w, false, mergekit, normalize);
        }
    }
}
