namespace ModelSoups.Merging;

/// <summary>
/// Multi-SLERP (Goddard, "multislerp"; mergekit <c>multislerp</c>): barycentric interpolation of
/// several models (or task vectors, with a base) on the hypersphere. With x_i the flattened inputs,
/// w_i the weights (divided by Σw when <c>normalize_weights</c>), u_i = x_i / (‖x_i‖ + ε):
/// m = Σ w_i u_i / ‖Σ w_i u_i‖; tangents g_i = u_i − (u_i·m) m; g = Σ w_i g_i; τ = ‖g‖ + ε;
/// result (m cos τ + g sin τ / τ) · Σ w_i ‖x_i‖ (+ base). Where ‖Σ w_i u_i‖ &lt; ε two models are
/// interpolated linearly and more are refused (antipodal inputs). Whole tensor; sums in double.
/// </summary>
public sealed class MultiSlerp : MergeMethod<MultiSlerpParameters>
{
    /// <inheritdoc/>
    public override string Name => "multislerp";
    /// <inheritdoc/>
    public override string Description => "Multi-SLERP: weighted spherical interpolation of any number of models or task vectors.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Optional;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        WeightDef,
        new("normalize_weights", ParameterScope.Global, ParameterKind.Flag, true, "Divide the weights by their sum."),
        new("eps", ParameterScope.Global, ParameterKind.Number, 1e-8, "Small constant for numerical stability.") { Min = 0 },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;

    /// <inheritdoc/>
    protected override MultiSlerpParameters Bind(MergeParameters p)
    {
        var w = new double[p.ModelCount];
        double sum = 0;
        for (int i = 0; i < w.Length; i++) sum += w[i] = p.Number("weight", i);
        bool normalize = p.Flag("normalize_weights");
        if (normalize) for (int i = 0; i < w.Length; i++) w[i] /= sum;
        return new MultiSlerpParameters(w, p.Number("eps"), normalize, sum);
    }

    /// <inheritdoc/>
    protected override void ValidateParameters(MultiSlerpParameters p, bool hasBase, string where)
    {
        if (!p.NormalizeWeights) return;
        if (p.Weights.Count > 1 && Math.Abs(p.WeightSum) < 1e-12)
            throw new ModelSoupsException($"The multislerp weights sum to zero{where}, so they cannot be normalised; change a weight or set normalize_weights: false.");
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, MultiSlerpParameters p, Span<T> output)
    {
        int k = input.Models.Count, n = output.Length;
        bool hasBase = input.HasBase;
        var o = hasBase ? input.Base.Span : default;
        if (k == 1) { input.Models[0].Span.CopyTo(output); return; } // mergekit: one tensor is returned as it is
        double eps = p.Eps;
        var w = p.Weights.ToArray();   // the helpers take an array; k entries

        var norms = new double[k];
        for (int i = 0; i < k; i++)
        {
            var m = input.Models[i].Span;
            double s = 0;
            for (int j = 0; j < n; j++) { double x = X(m, o, hasBase, j); s += x * x; }
            norms[i] = Math.Sqrt(s);
        }
        var inv = norms.Select(x => 1 / (x + eps)).ToArray();
        double meanSq = 0;
        for (int j = 0; j < n; j++) { double mj = Mean(input, o, hasBase, w, inv, j); meanSq += mj * mj; }
        double meanNorm = Math.Sqrt(meanSq);
        if (norms.All(r => r == 0))
        {
            // Every input is zero (with a base: a tensor no model changed). mergekit returns the base for
            // two models and raises for more; the base (zeros without one) is the only sensible answer.
            if (hasBase) o.CopyTo(output); else output.Clear();
            return;
        }
        if (meanNorm < eps)
        {
            if (k != 2)
                throw new ModelSoupsException($"multislerp: the weighted sum of the unit inputs is zero in tensor {input.TensorName} (antipodal models with balancing weights); use different weights.");
            T w0 = T.CreateChecked(w[0]), w1 = T.CreateChecked(w[1]);
            var a = input.Models[0].Span; var b = input.Models[1].Span;
            for (int j = 0; j < n; j++)
                output[j] = hasBase ? (a[j] - o[j]) * w0 + (b[j] - o[j]) * w1 + o[j] : a[j] * w0 + b[j] * w1;
            return;
        }
        // dots_i = u_i · m
        var dots = new double[k];
        for (int j = 0; j < n; j++)
        {
            double mj = Mean(input, o, hasBase, w, inv, j) / meanNorm;
            for (int i = 0; i < k; i++) dots[i] += X(input.Models[i].Span, o, hasBase, j) * inv[i] * mj;
        }
        double gSq = 0;
        for (int j = 0; j < n; j++) { double g = Tangent(input, o, hasBase, w, inv, dots, meanNorm, j); gSq += g * g; }
        double tau = Math.Sqrt(gSq) + eps;
        double avgNorm = 0;
        for (int i = 0; i < k; i++) avgNorm += norms[i] * w[i];
        double cm = Math.Cos(tau) * avgNorm, cg = Math.Sin(tau) / tau * avgNorm;
        for (int j = 0; j < n; j++)
        {
            double mj = Mean(input, o, hasBase, w, inv, j) / meanNorm;
            double r = mj * cm + Tangent(input, o, hasBase, w, inv, dots, meanNorm, j) * cg;
            output[j] = hasBase ? T.CreateChecked(r) + o[j] : T.CreateChecked(r);
        }
    }

    static double X<T>(ReadOnlySpan<T> m, ReadOnlySpan<T> o, bool hasBase, int j) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> =>
        double.CreateChecked(hasBase ? m[j] - o[j] : m[j]);

    static double Mean<T>(MergeInput<T> input, ReadOnlySpan<T> o, bool hasBase, double[] w, double[] inv, int j) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        double s = 0;
        for (int i = 0; i < w.Length; i++) s += w[i] * X(input.Models[i].Span, o, hasBase, j) * inv[i];
        return s;
    }

    static double Tangent<T>(MergeInput<T> input, ReadOnlySpan<T> o, bool hasBase, double[] w, double[] inv, double[] dots, double meanNorm, int j) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        double mj = Mean(input, o, hasBase, w, inv, j) / meanNorm, g = 0;
        for (int i = 0; i < w.Length; i++) g += w[i] * (X(input.Models[i].Span, o, hasBase, j) * inv[i] - dots[i] * mj);
        return g;
    }
}
