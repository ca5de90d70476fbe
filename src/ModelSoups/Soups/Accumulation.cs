using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>
/// How one tensor's <see cref="SoupAccumulator"/> sum is kept: its dtype (F32 or F64) and, for an f32 sum, the
/// power-of-two scale 2⁻ˢ carried by the weights and the divisor so that no partial sum can leave the inputs'
/// range (see <see cref="SoupAccumulator"/> for why each choice keeps the exactness guarantees).
/// </summary>
/// <param name="Type">F32 or F64.</param>
/// <param name="ScaleExponent">s ≥ 0: weights and divisor are multiplied by 2⁻ˢ (0 for f64 sums).</param>
public readonly record struct Accumulation(DType Type, int ScaleExponent)
{
    /// <summary>The largest Σ|wᵢ| summed in f32: k identical 16-bit inputs sum exactly in 24 bits while k ≤ 2¹³.</summary>
    public const double MaxF32WeightSum = 1 << 13;

    /// <summary>An f64 sum (no scale).</summary>
    public static Accumulation F64 { get; } = new(DType.F64, 0);

    /// <summary>Bytes per summed element.</summary>
    public int Size => Type.Size();

    /// <summary>The accumulation for one tensor.</summary>
    /// <param name="compute">The compute dtype (F32 or F64).</param>
    /// <param name="inputs">The tensor's dtype in every input.</param>
    /// <param name="output">The output dtype; null when it is one of the inputs' dtypes.</param>
    /// <param name="weights">The models' weights (1 each for a soup).</param>
    /// <remarks>
    /// An f32 sum also needs equal weights that f32 holds exactly as normal numbers (a uniform soup: 1, or the
    /// normalised 1, each): then every model's product is the same exact scaling and the sum is what a soup
    /// needs; unequal weights (0.3, 0.5, 1.0) keep the f64 sum, so a weighted merge rounds once from the f64
    /// result, as the recipes' golden tests derive it.
    /// </remarks>
    public static Accumulation For(DType compute, IEnumerable<DType> inputs, DType? output, IReadOnlyList<double> weights)
    {
        double weightSum = weights.Sum(Math.Abs);
        if (compute == DType.F64 || !(weightSum <= MaxF32WeightSum) || weights.Count == 0) return F64;
        foreach (var w in weights)
            if (w != weights[0] || (double)(float)w != w || !float.IsNormal(MathF.ScaleB((float)w, -13))) return F64;
        if (output is { } o && !IsNarrow(o)) return F64;
        foreach (var t in inputs)
            if (!IsNarrow(t)) return F64;
        int s = weightSum > 1 ? (int)Math.Ceiling(Math.Log2(weightSum)) : 0;
        while (Math.ScaleB(1.0, s) < weightSum) s++; // Log2 may round down at exact powers' neighbours
        return new Accumulation(DType.F32, s);
    }

    /// <summary>A weight or divisor as the f32 sum uses it: rounded to f32, then scaled by 2⁻ˢ (exactly).</summary>
    public float Scaled(double value) => MathF.ScaleB((float)value, -ScaleExponent);

    static bool IsNarrow(DType t) => t is DType.BF16 or DType.F16 or DType.F8_E4M3 or DType.F8_E5M2;
}
