using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelSoups.Tensors.Kernels;

namespace ModelSoups.Merging;

/// <summary>
/// TIES' trim, sign election and disjoint mean in one pass over the inputs (f32 arithmetic, "sum" election): per 16
/// elements (Vector512; then 8, then one by one for the tail), each model's task vector τ_i = m_i − b is computed once,
/// trimmed by its already-found magnitude cut, and kept in registers; the election and the disjoint mean
/// (<see cref="SignConsensus"/>) read it from there and the result is written. Inputs and output are stored as f32 or
/// as bf16 (<see cref="IFloatStorage{TValue}"/>: widening is exact and the output is rounded as the bf16 conversion
/// rounds), so the engine runs it on a checkpoint's 16-bit values without converted copies. The unfused path
/// (<see cref="TaskVectorSparsifier{T}.Fill"/> into rows of 256, then <see cref="SignConsensus.DisjointSingle"/>) stores
/// and reloads every τ̂_i; this does the same operations in the same order per element, so it gives the same bits,
/// ties at the cut included (taken in index order, <see cref="RankCut{T}.TakeTies"/>), as <c>FusedTiesTests</c> checks.
/// </summary>
internal static unsafe class FusedTies
{
    /// <summary>Whether this machine runs the fused kernel (it needs 256-bit vectors, as the unfused fast path does).</summary>
    public static bool Supported => Vector256.IsHardwareAccelerated;

    /// <summary>
    /// output = b + λ·Disjoint(τ̂_0 … τ̂_{k−1}) element by element, with τ̂_i = (m_i − b) where <paramref name="cuts"/>[i]
    /// takes |m_i − b|, else 0. <paramref name="cuts"/> are advanced as <see cref="RankCut{T}.Take"/> would be, in index order.
    /// </summary>
    public static void Run(ReadOnlyMemory<float>[] models, ReadOnlySpan<float> b, Span<RankCut<float>> cuts, ReadOnlySpan<float> w,
        float lambda, bool mergekit, bool normalize, Span<float> output) =>
        Run<float, SingleStorage>(models, b, cuts, w, lambda, mergekit, normalize, output);

    /// <summary>As <see cref="Run(ReadOnlyMemory{float}[], ReadOnlySpan{float}, Span{RankCut{float}}, ReadOnlySpan{float}, float, bool, bool, Span{float})"/> with inputs and output stored as <typeparamref name="TStorage"/> says.</summary>
    public static void Run<TValue, TStorage>(ReadOnlyMemory<TValue>[] models, ReadOnlySpan<TValue> b, Span<RankCut<float>> cuts, ReadOnlySpan<float> w,
        float lambda, bool mergekit, bool normalize, Span<TValue> output)
        where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
    {
        int n = output.Length;
        using var pinned = new PinnedInputs<TValue>(models);
        TValue** mp = pinned.Pointers;
        fixed (TValue* bp = b)
        fixed (TValue* op = output)
        {
            // 16 lanes where the machine has them, then 8, then one by one: per element the same operations,
            // so the width changes nothing but the speed (the unfused path ran 8 lanes and the same scalar tail).
            int j = !mergekit ? Vectors<TValue, TStorage, PeftMean>(mp, bp, op, n, cuts, w, lambda)
                : normalize ? Vectors<TValue, TStorage, MergekitNormalized>(mp, bp, op, n, cuts, w, lambda)
                : Vectors<TValue, TStorage, MergekitSum>(mp, bp, op, n, cuts, w, lambda);
            Tail<TValue, TStorage>(mp, bp, op, j, n, cuts, w, lambda, mergekit, normalize);
        }
    }

    static int Vectors<TValue, TStorage, TVariant>(TValue** mp, TValue* bp, TValue* op, int n, Span<RankCut<float>> cuts, ReadOnlySpan<float> w, float lambda)
        where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue> where TVariant : struct, IDisjointVariant
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated) j = Columns<Vector512<float>, FloatLanes512, TValue, TStorage, TVariant>(mp, bp, op, j, n, cuts, w, lambda);
        return Columns<Vector256<float>, FloatLanes256, TValue, TStorage, TVariant>(mp, bp, op, j, n, cuts, w, lambda);
    }

    // Whole vectors of columns from j on; returns the first column not done (fewer than a vector's lanes remain).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Columns<TV, TLanes, TValue, TStorage, TVariant>(TValue** mp, TValue* bp, TValue* op, int j, int n, Span<RankCut<float>> cuts,
        ReadOnlySpan<float> w, float lambda)
        where TV : unmanaged where TLanes : struct, IFloatLanes<TV> where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
        where TVariant : struct, IDisjointVariant
    {
        int k = cuts.Length;
        if (n - j < TLanes.Count) return j;
        Span<TV> tau = k <= 32 ? stackalloc TV[k] : new TV[k];
        Span<TV> value = k <= 32 ? stackalloc TV[k] : new TV[k];
        Span<TV> weight = k <= 32 ? stackalloc TV[k] : new TV[k];
        // 0: keep all (plain difference), 1: keep none, 2: cut by value with ties.
        Span<int> mode = k <= 32 ? stackalloc int[k] : new int[k];
        for (int i = 0; i < k; i++)
        {
            mode[i] = cuts[i].IsAll ? 0 : cuts[i].IsNone ? 1 : 2;
            value[i] = TLanes.Create(cuts[i].Value);
            weight[i] = TLanes.Create(w[i]);
        }
        ref TV tau0 = ref MemoryMarshal.GetReference(tau);
        ref TV value0 = ref MemoryMarshal.GetReference(value);
        ref int mode0 = ref MemoryMarshal.GetReference(mode);
        ref RankCut<float> cut0 = ref MemoryMarshal.GetReference(cuts);
        var vl = TLanes.Create(lambda);
        for (; j <= n - TLanes.Count; j += TLanes.Count)
        {
            var bv = TLanes.Load<TValue, TStorage>(bp + j);
            for (int i = 0; i < k; i++)
            {
                int mi = Unsafe.Add(ref mode0, i);
                ref TV t = ref Unsafe.Add(ref tau0, i);
                if (mi == 1) { t = default; continue; }
                var d = TLanes.Subtract(TLanes.Load<TValue, TStorage>(mp[i] + j), bv);
                // As TaskVectorSparsifier's trim: above the cut, or a tie within the cut's budget.
                t = mi == 0 ? d : TLanes.And(Unsafe.Add(ref cut0, i).Take<TV, TLanes>(TLanes.Abs(d), Unsafe.Add(ref value0, i)), d);
            }
            var delta = SignConsensus.DisjointLanes<TV, TLanes, TVariant>(tau, weight);
            TLanes.Store<TValue, TStorage>(TLanes.Add(bv, TLanes.Multiply(vl, delta)), op + j);
        }
        return j;
    }

    // The last columns one by one, as the unfused path's scalar tails do.
    static void Tail<TValue, TStorage>(TValue** mp, TValue* bp, TValue* op, int j, int n, Span<RankCut<float>> cuts, ReadOnlySpan<float> w,
        float lambda, bool mergekit, bool normalize)
        where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
    {
        int k = cuts.Length;
        Span<float> v = k <= 64 ? stackalloc float[k] : new float[k];
        for (; j < n; j++)
        {
            float bj = TStorage.Load(bp + j);
            for (int i = 0; i < k; i++)
            {
                float d = TStorage.Load(mp[i] + j) - bj;
                v[i] = cuts[i].Take(MathF.Abs(d)) ? d : 0f;
            }
            TStorage.Store(bj + lambda * SignConsensus.Disjoint<float>(v, w, false, mergekit, normalize), op + j);
        }
    }
}
