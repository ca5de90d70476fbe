namespace ModelSoups.Merging;

/// <summary>
/// The parameters of <see cref="Linear"/> for one tensor, typed: the weights as the mean uses them and the divisor
/// (Σ w_i when normalising, else 1), both in f64 — see <see cref="From"/> for how weights of extreme size are scaled.
/// </summary>
/// <param name="Weights">w_i per input model, in recipe order (scaled when their size is extreme and they are normalised).</param>
/// <param name="Divisor">Σ w_i of those weights when <paramref name="Normalize"/>, else 1.</param>
/// <param name="Normalize">Divide by the sum of weights (<c>normalize</c>).</param>
public sealed record LinearParameters(IReadOnlyList<double> Weights, double Divisor, bool Normalize)
{
    /// <summary>
    /// Reads <c>weight</c> and <c>normalize</c>. With normalize, weights of ordinary size are used as given (so the bits
    /// stay what they always were), while weights whose largest magnitude is outside [2⁻⁶⁰, 2⁶⁰] are first divided by
    /// that largest magnitude: the mean is unchanged, but weights like 1e-39 (whose sum is not zero) or 1e308 (whose
    /// sum would overflow, and which f32 sums could not hold) give their true weighted mean — equal weights become
    /// exactly 1, the plain mean.
    /// </summary>
    public static LinearParameters From(MergeParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var w = new double[p.ModelCount];
        double max = 0;
        for (int i = 0; i < w.Length; i++) max = Math.Max(max, Math.Abs(w[i] = p.Number("weight", i)));
        if (!p.Flag("normalize")) return new LinearParameters(w, 1, false);
        if (max > 0 && double.IsFinite(max) && (max < Math.ScaleB(1.0, -60) || max > Math.ScaleB(1.0, 60)))
            for (int i = 0; i < w.Length; i++) w[i] /= max;
        double sum = 0;
        for (int i = 0; i < w.Length; i++) sum += w[i];
        return new LinearParameters(w, sum, true);
    }
}
