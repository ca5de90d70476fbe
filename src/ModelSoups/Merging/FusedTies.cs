using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelSoups.Merging;

/// <summary>
/// TIES' trim, sign election and disjoint mean in one pass over the inputs (f32, "sum" election): per eight elements,
/// each model's task vector τ_i = m_i − b is computed once, trimmed by its already-found magnitude cut, and kept in
/// registers; the election and the disjoint mean read it from there and the result is written. The unfused path
/// (<see cref="TaskVectorSparsifier{T}.Fill"/> into rows of 256, then <see cref="SignConsensus.DisjointSingle"/>)
/// stores and reloads every τ̂_i; this does the same operations in the same order per element — the same lanes are
/// vector lanes and the same tail (length mod 8) is scalar — so it gives the same bits, ties at the cut included
/// (taken in index order, <see cref="RankCut{T}.TakeTies"/>), as <c>FusedTiesTests</c> checks against that path.
/// </summary>
internal static unsafe class FusedTies
{
    const int L = 8, L512 = 16;

    /// <summary>Whether this machine runs the fused kernel (it needs 256-bit vectors, as the unfused fast path does).</summary>
    public static bool Supported => Vector256.IsHardwareAccelerated;

    /// <summary>
    /// output = b + λ·Disjoint(τ̂_0 … τ̂_{k−1}) element by element, with τ̂_i = (m_i − b) where <paramref name="cuts"/>[i]
    /// takes |m_i − b|, else 0. <paramref name="cuts"/> are advanced as <see cref="RankCut{T}.Take"/> would be, in index order.
    /// </summary>
    public static void Run(ReadOnlyMemory<float>[] models, ReadOnlySpan<float> b, Span<RankCut<float>> cuts, ReadOnlySpan<float> w,
        float lambda, bool mergekit, bool normalize, Span<float> output)
    {
        int k = models.Length, n = output.Length;
        var handles = new MemoryHandle[k];
        try
        {
            float** mp = stackalloc float*[k];
            for (int i = 0; i < k; i++)
            {
                handles[i] = models[i].Pin();
                mp[i] = (float*)handles[i].Pointer;
            }
            fixed (float* bp = b)
            fixed (float* op = output)
            {
                // 16 lanes where the machine has them, then 8, then one by one: per element the same operations,
                // so the width changes nothing but the speed (the unfused path ran 8 lanes and the same scalar tail).
                int wide = Vector512.IsHardwareAccelerated ? n - n % L512 : 0;
                Vectors512(mp, bp, op, 0, wide, k, cuts, w, lambda, mergekit, normalize);
                Vectors(mp, bp, op, wide, n - n % L, k, cuts, w, lambda, mergekit, normalize);
            }
            Tail(models, b, cuts, w, lambda, mergekit, normalize, output, n - n % L);
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
        }
    }

    static void Vectors512(float** mp, float* bp, float* op, int start, int end, int k, Span<RankCut<float>> cuts, ReadOnlySpan<float> w,
        float lambda, bool mergekit, bool normalize)
    {
        Span<Vector512<float>> tau = k <= 32 ? stackalloc Vector512<float>[k] : new Vector512<float>[k];
        Span<Vector512<float>> value = k <= 32 ? stackalloc Vector512<float>[k] : new Vector512<float>[k];
        Span<Vector512<float>> weight = k <= 32 ? stackalloc Vector512<float>[k] : new Vector512<float>[k];
        // 0: keep all (plain difference), 1: keep none, 2: cut by value with ties.
        Span<int> mode = k <= 32 ? stackalloc int[k] : new int[k];
        for (int i = 0; i < k; i++)
        {
            mode[i] = cuts[i].IsAll ? 0 : cuts[i].IsNone ? 1 : 2;
            value[i] = Vector512.Create(cuts[i].Value);
            weight[i] = Vector512.Create(w[i]);
        }
        var laneBits = Vector512.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u);
        var vl = Vector512.Create(lambda);
        for (int j = start; j < end; j += L512)
        {
            var bv = Vector512.Load(bp + j);
            var elect = Vector512<float>.Zero;
            for (int i = 0; i < k; i++)
            {
                Vector512<float> t;
                if (mode[i] == 1) t = Vector512<float>.Zero;
                else
                {
                    var d = Vector512.Load(mp[i] + j) - bv;
                    if (mode[i] == 0) t = d;
                    else
                    {
                        // As TaskVectorSparsifier.FillKeptSingle: above the cut, or a tie within the cut's budget.
                        var mag = Vector512.Abs(d);
                        var keep = Vector512.GreaterThan(mag, value[i]);
                        uint ties = (uint)Vector512.ExtractMostSignificantBits(Vector512.Equals(mag, value[i]));
                        if (ties != 0)
                        {
                            int count = BitOperations.PopCount(ties);
                            int taken = cuts[i].TakeTies(count);
                            if (taken > 0)
                            {
                                uint takenBits = taken == count ? ties : LowestSetBits(ties, taken);
                                keep |= Vector512.Equals(Vector512.Create(takenBits) & laneBits, laneBits).AsSingle();
                            }
                        }
                        t = Vector512.ConditionalSelect(keep, d, Vector512<float>.Zero);
                    }
                }
                tau[i] = t;
                // As SignConsensus.DisjointSingle, from here on.
                elect += mergekit ? weight[i] * t : t;
            }
            var positive = Vector512.GreaterThanOrEqual(elect, Vector512<float>.Zero);
            var mixed = Vector512<float>.Zero;
            var divisor = Vector512<float>.Zero;
            for (int i = 0; i < k; i++)
            {
                var wi = weight[i];
                var wv = wi * tau[i];
                var x = mergekit ? wv : tau[i];
                var agree = Vector512.ConditionalSelect(positive, Vector512.GreaterThan(x, Vector512<float>.Zero), Vector512.LessThan(x, Vector512<float>.Zero));
                mixed += Vector512.ConditionalSelect(agree, wv, Vector512<float>.Zero);
                divisor += Vector512.ConditionalSelect(agree, mergekit ? wi : Vector512<float>.One, Vector512<float>.Zero);
            }
            Vector512<float> delta;
            if (!mergekit) delta = mixed / Vector512.Max(divisor, Vector512<float>.One);
            else if (normalize) delta = mixed / Vector512.ConditionalSelect(Vector512.Equals(divisor, Vector512<float>.Zero), Vector512<float>.One, divisor);
            else delta = mixed;
            (bv + vl * delta).Store(op + j);
        }
    }

    static void Vectors(float** mp, float* bp, float* op, int start, int end, int k, Span<RankCut<float>> cuts, ReadOnlySpan<float> w,
        float lambda, bool mergekit, bool normalize)
    {
        Span<Vector256<float>> tau = k <= 32 ? stackalloc Vector256<float>[k] : new Vector256<float>[k];
        Span<Vector256<float>> value = k <= 32 ? stackalloc Vector256<float>[k] : new Vector256<float>[k];
        Span<Vector256<float>> weight = k <= 32 ? stackalloc Vector256<float>[k] : new Vector256<float>[k];
        // 0: keep all (plain difference), 1: keep none, 2: cut by value with ties.
        Span<int> mode = k <= 32 ? stackalloc int[k] : new int[k];
        for (int i = 0; i < k; i++)
        {
            mode[i] = cuts[i].IsAll ? 0 : cuts[i].IsNone ? 1 : 2;
            value[i] = Vector256.Create(cuts[i].Value);
            weight[i] = Vector256.Create(w[i]);
        }
        var laneBits = Vector256.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u);
        var vl = Vector256.Create(lambda);
        for (int j = start; j < end; j += L)
        {
            var bv = Vector256.Load(bp + j);
            var elect = Vector256<float>.Zero;
            for (int i = 0; i < k; i++)
            {
                Vector256<float> t;
                if (mode[i] == 1) t = Vector256<float>.Zero;
                else
                {
                    var d = Vector256.Load(mp[i] + j) - bv;
                    if (mode[i] == 0) t = d;
                    else
                    {
                        // As TaskVectorSparsifier.FillKeptSingle: above the cut, or a tie within the cut's budget.
                        var mag = Vector256.Abs(d);
                        var keep = Vector256.GreaterThan(mag, value[i]);
                        uint ties = Vector256.ExtractMostSignificantBits(Vector256.Equals(mag, value[i]));
                        if (ties != 0)
                        {
                            int count = BitOperations.PopCount(ties);
                            int taken = cuts[i].TakeTies(count);
                            if (taken > 0)
                            {
                                uint takenBits = taken == count ? ties : LowestSetBits(ties, taken);
                                keep |= Vector256.Equals(Vector256.Create(takenBits) & laneBits, laneBits).AsSingle();
                            }
                        }
                        t = Vector256.ConditionalSelect(keep, d, Vector256<float>.Zero);
                    }
                }
                tau[i] = t;
                // As SignConsensus.DisjointSingle, from here on.
                elect += mergekit ? weight[i] * t : t;
            }
            var positive = Vector256.GreaterThanOrEqual(elect, Vector256<float>.Zero);
            var mixed = Vector256<float>.Zero;
            var divisor = Vector256<float>.Zero;
            for (int i = 0; i < k; i++)
            {
                var wi = weight[i];
                var wv = wi * tau[i];
                var x = mergekit ? wv : tau[i];
                var agree = Vector256.ConditionalSelect(positive, Vector256.GreaterThan(x, Vector256<float>.Zero), Vector256.LessThan(x, Vector256<float>.Zero));
                mixed += Vector256.ConditionalSelect(agree, wv, Vector256<float>.Zero);
                divisor += Vector256.ConditionalSelect(agree, mergekit ? wi : Vector256<float>.One, Vector256<float>.Zero);
            }
            Vector256<float> delta;
            if (!mergekit) delta = mixed / Vector256.Max(divisor, Vector256<float>.One);
            else if (normalize) delta = mixed / Vector256.ConditionalSelect(Vector256.Equals(divisor, Vector256<float>.Zero), Vector256<float>.One, divisor);
            else delta = mixed;
            (bv + vl * delta).Store(op + j);
        }
    }

    // The last length mod 8 elements, one by one, as the unfused path's scalar tails do.
    static void Tail(ReadOnlyMemory<float>[] models, ReadOnlySpan<float> b, Span<RankCut<float>> cuts, ReadOnlySpan<float> w,
        float lambda, bool mergekit, bool normalize, Span<float> output, int start)
    {
        int k = models.Length;
        Span<float> v = k <= 64 ? stackalloc float[k] : new float[k];
        for (int j = start; j < output.Length; j++)
        {
            for (int i = 0; i < k; i++)
            {
                float d = models[i].Span[j] - b[j];
                v[i] = cuts[i].Take(MathF.Abs(d)) ? d : 0f;
            }
            output[j] = b[j] + lambda * SignConsensus.Disjoint<float>(v, w, false, mergekit, normalize);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
}
