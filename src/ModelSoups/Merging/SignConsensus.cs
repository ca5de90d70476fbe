using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelSoups.Tensors.Kernels;

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
/// The f32 kernels run 16 or 8 columns at a time with the scalar code's operations in the same order
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
    /// (row i at i·<paramref name="stride"/>), "sum" election; f32, vectorised (16, then 8 lanes, then a scalar tail).
    /// </summary>
    public static unsafe void DisjointSingle(ReadOnlySpan<float> vals, int k, int stride, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        float lambda, bool mergekit, bool normalize, Span<float> output)
    {
        int n = output.Length, j = 0;
        fixed (float* vp = vals)
        fixed (float* bp = b)
        fixed (float* op = output)
        {
            if (!mergekit) j = DisjointColumns<PeftMean>(vp, k, stride, w, bp, lambda, op, n);
            else if (normalize) j = DisjointColumns<MergekitNormalized>(vp, k, stride, w, bp, lambda, op, n);
            else j = DisjointColumns<MergekitSum>(vp, k, stride, w, bp, lambda, op, n);
        }
        Span<float> v = k <= 64 ? stackalloc float[k] : new float[k];
        for (; j < n; j++)
        {
            for (int i = 0; i < k; i++) v[i] = vals[i * stride + j];
            output[j] = b[j] + lambda * Disjoint<float>(v, w, false, mergekit, normalize);
        }
    }

    static unsafe int DisjointColumns<TVariant>(float* vals, int k, int stride, ReadOnlySpan<float> w, float* b, float lambda, float* output, int n)
        where TVariant : struct, IDisjointVariant
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated) j = DisjointColumns<Vector512<float>, FloatLanes512, TVariant>(vals, k, stride, w, b, lambda, output, j, n);
        if (Vector256.IsHardwareAccelerated) j = DisjointColumns<Vector256<float>, FloatLanes256, TVariant>(vals, k, stride, w, b, lambda, output, j, n);
        return j;
    }

    // Whole vectors of columns from j on; returns the first column not done.
    static unsafe int DisjointColumns<TV, TLanes, TVariant>(float* vals, int k, int stride, ReadOnlySpan<float> w, float* b, float lambda, float* output, int j, int n)
        where TV : unmanaged where TLanes : struct, IFloatLanes<TV> where TVariant : struct, IDisjointVariant
    {
        if (n - j < TLanes.Count) return j;
        Span<TV> tau = k <= 32 ? stackalloc TV[k] : new TV[k];
        Span<TV> weight = k <= 32 ? stackalloc TV[k] : new TV[k];
        for (int i = 0; i < k; i++) weight[i] = TLanes.Create(w[i]);
        var vl = TLanes.Create(lambda);
        for (; j <= n - TLanes.Count; j += TLanes.Count)
        {
            for (int i = 0; i < k; i++) tau[i] = TLanes.Load<float, SingleStorage>(vals + (long)i * stride + j);
            var delta = DisjointLanes<TV, TLanes, TVariant>(tau, weight);
            TLanes.Store<float, SingleStorage>(TLanes.Add(TLanes.Load<float, SingleStorage>(b + j), TLanes.Multiply(vl, delta)), output + j);
        }
        return j;
    }

    /// <summary>
    /// δ for a vector of columns whose k sparsified task-vector entries are in registers (<paramref name="tau"/>[i], with
    /// <paramref name="weight"/>[i] = w_i in every lane): "sum" election, then the mean of the agreeing entries — per lane
    /// the operations of <see cref="Disjoint{T}"/> (without count election) in its order, so every width gives its bits.
    /// The variant is a type (<typeparamref name="TVariant"/>), so the JIT leaves its branches out of the loops.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV DisjointLanes<TV, TLanes, TVariant>(ReadOnlySpan<TV> tau, ReadOnlySpan<TV> weight)
        where TV : unmanaged where TLanes : struct, IFloatLanes<TV> where TVariant : struct, IDisjointVariant
    {
        int k = tau.Length;
        ref TV t0 = ref MemoryMarshal.GetReference(tau);
        ref TV w0 = ref MemoryMarshal.GetReference(weight);
        TV elect = default;
        for (int i = 0; i < k; i++)
        {
            var t = Unsafe.Add(ref t0, i);
            elect = TLanes.Add(elect, TVariant.Mergekit ? TLanes.Multiply(Unsafe.Add(ref w0, i), t) : t);
        }
        var positive = TLanes.GreaterThanOrEqual(elect, default);
        TV mixed = default, divisor = default, one = TLanes.Create(1f);
        for (int i = 0; i < k; i++)
        {
            var t = Unsafe.Add(ref t0, i);
            var wi = Unsafe.Add(ref w0, i);
            var wv = TLanes.Multiply(wi, t);
            var x = TVariant.Mergekit ? wv : t;
            // Zero and NaN entries agree with neither sign.
            var agree = TLanes.Select(positive, TLanes.GreaterThan(x, default), TLanes.LessThan(x, default));
            mixed = TLanes.Add(mixed, TLanes.And(agree, wv));
            divisor = TLanes.Add(divisor, TLanes.And(agree, TVariant.Mergekit ? wi : one));
        }
        if (!TVariant.Mergekit) return TLanes.Divide(mixed, TLanes.Max(divisor, one));
        if (TVariant.Normalize) return TLanes.Divide(mixed, TLanes.Select(TLanes.Equal(divisor, default), one, divisor));
        return mixed;
    }
}

/// <summary>The consensus variant as a type, for kernels specialised per variant (<see cref="SignConsensus"/>).</summary>
internal interface IDisjointVariant
{
    /// <summary>mergekit's variant (weighted election, weight divisor) instead of PEFT's.</summary>
    static abstract bool Mergekit { get; }
    /// <summary>mergekit: divide by the agreeing weights.</summary>
    static abstract bool Normalize { get; }
}

/// <summary>mergekit, <c>normalize: true</c>.</summary>
internal readonly struct MergekitNormalized : IDisjointVariant
{
    /// <inheritdoc/>
    public static bool Mergekit => true;
    /// <inheritdoc/>
    public static bool Normalize => true;
}

/// <summary>mergekit, <c>normalize: false</c>.</summary>
internal readonly struct MergekitSum : IDisjointVariant
{
    /// <inheritdoc/>
    public static bool Mergekit => true;
    /// <inheritdoc/>
    public static bool Normalize => false;
}

/// <summary>PEFT / the TIES paper (normalize has no effect).</summary>
internal readonly struct PeftMean : IDisjointVariant
{
    /// <inheritdoc/>
    public static bool Mergekit => false;
    /// <inheritdoc/>
    public static bool Normalize => false;
}
