using System.Runtime.Intrinsics;
namespace ModelSoups.Merging;

/// <summary>
/// Weighted average Σ w_i θ_i / Σ w_i (or the plain weighted sum when normalize is false).
/// Equal weights give the uniform soup of Wortsman et al. (2022); matches mergekit <c>linear</c>.
/// </summary>
public sealed class Linear : MergeMethod
{
    /// <inheritdoc/>
    public override string Name => "linear";
    /// <inheritdoc/>
    public override string Description => "Weighted average of the models (uniform soup with equal weights).";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.None;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        WeightDef,
        new("normalize", ParameterScope.Global, ParameterKind.Flag, true, "Divide by the sum of weights."),
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => true;

    /// <inheritdoc/>
    protected override void ValidateMore(MergeParameters p, bool hasBase, string where)
    {
        if (!p.Flag("normalize")) return;
        var (_, sum) = Weights(p);
        // Only an exact zero cannot be normalised: weights of 1e-39 (or 1e308) are scaled first (see Weights).
        if (sum == 0 || !double.IsFinite(sum))
            throw new ModelSoupsException($"The linear weights sum to zero{where}, so they cannot be normalised; change a weight or set normalize: false.");
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output)
    {
        var p = input.Parameters;
        int k = p.ModelCount;
        // Accumulate in double (one chunk at a time, model by model) and round once:
        // identical inputs give back exactly the input.
        var (w, div) = Weights(p);
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            var models = new ReadOnlyMemory<float>[k];
            for (int i = 0; i < k; i++) models[i] = (ReadOnlyMemory<float>)(object)input.Models[i];
            WeightedMeanSingle(models, w, div, System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(output));
            return;
        }
        Span<double> acc = stackalloc double[1024];
        for (int s = 0; s < output.Length; s += acc.Length)
        {
            int len = Math.Min(acc.Length, output.Length - s);
            var a = acc[..len];
            a.Clear();
            for (int i = 0; i < k; i++)
            {
                var m = input.Models[i].Span.Slice(s, len);
                for (int j = 0; j < len; j++) a[j] += w[i] * double.CreateChecked(m[j]);
            }
            var o = output.Slice(s, len);
            for (int j = 0; j < len; j++) o[j] = T.CreateChecked(a[j] / div);
        }
    }

    /// <summary>
    /// The weights and the divisor. With normalize, the weights are first multiplied by the power of two that
    /// brings the largest to [1, 2): a power-of-two scale is exact, so for ordinary weights every product, sum
    /// and quotient is bit for bit what it was unscaled, while weights like 1e-39 (whose sum is not zero) or
    /// 1e308 (whose sum would overflow) still give their true weighted mean.
    /// </summary>
    static (double[] Weights, double Divisor) Weights(MergeParameters p)
    {
        int k = p.ModelCount;
        var w = new double[k];
        double max = 0;
        for (int i = 0; i < k; i++) max = Math.Max(max, Math.Abs(w[i] = p.Number("weight", i)));
        if (!p.Flag("normalize")) return (w, 1);
        if (max > 0 && double.IsFinite(max))
        {
            int e = Math.ILogB(max);
            for (int i = 0; i < k; i++) w[i] = Math.ScaleB(w[i], -e);
        }
        double sum = 0;
        for (int i = 0; i < k; i++) sum += w[i];
        return (w, sum);
    }

    /// <summary>
    /// The f32 path of <see cref="MergeCore{T}"/>, vectorised: the same double accumulation in the
    /// same order (so the same bits), 4 doubles per lane group. Widening f32→f64 and narrowing
    /// f64→f32 are exact / round-to-nearest-even, like the scalar casts.
    /// </summary>
    static void WeightedMeanSingle(ReadOnlyMemory<float>[] models, double[] w, double div, Span<float> output)
    {
        const int Chunk = 1024;
        Span<double> acc = stackalloc double[Chunk];
        var vdiv = Vector256.Create(div);
        for (int s = 0; s < output.Length; s += Chunk)
        {
            int len = Math.Min(Chunk, output.Length - s);
            var a = acc[..len];
            a.Clear();
            int vecEnd = len - len % Vector256<float>.Count;
            for (int i = 0; i < models.Length; i++)
            {
                var m = models[i].Span.Slice(s, len);
                var wi = Vector256.Create(w[i]);
                int j = 0;
                for (; j < vecEnd; j += Vector256<float>.Count)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Create(m.Slice(j, Vector256<float>.Count)));
                    var aLo = Vector256.Create(a.Slice(j, Vector256<double>.Count));
                    var aHi = Vector256.Create(a.Slice(j + Vector256<double>.Count, Vector256<double>.Count));
                    (aLo + wi * lo).CopyTo(a.Slice(j, Vector256<double>.Count));
                    (aHi + wi * hi).CopyTo(a.Slice(j + Vector256<double>.Count, Vector256<double>.Count));
                }
                for (; j < len; j++) a[j] += w[i] * m[j];
            }
            var o = output.Slice(s, len);
            int k2 = 0;
            for (; k2 < vecEnd; k2 += Vector256<float>.Count)
            {
                var lo = Vector256.Create(a.Slice(k2, Vector256<double>.Count)) / vdiv;
                var hi = Vector256.Create(a.Slice(k2 + Vector256<double>.Count, Vector256<double>.Count)) / vdiv;
                Vector256.Narrow(lo, hi).CopyTo(o.Slice(k2, Vector256<float>.Count));
            }
            for (; k2 < len; k2++) o[k2] = (float)(a[k2] / div);
        }
    }
}
