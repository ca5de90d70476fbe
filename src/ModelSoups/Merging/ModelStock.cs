namespace ModelSoups.Merging;

/// <summary>
/// Model Stock (Jang et al. 2024), as mergekit <c>model_stock</c>: cosθ is the mean pairwise
/// cosine of the task vectors (norm product clamped to ≥ 1e-6, each cosine clamped to [−1, 1]);
/// t = k·cosθ / (1 + (k − 1)·cosθ); result t·mean(θ_i) + (1 − t)·θ_0. Whole tensor; sums in double.
/// </summary>
public sealed class ModelStock : MergeMethod<ModelStockParameters>
{
    /// <inheritdoc/>
    public override string Name => "model_stock";
    /// <inheritdoc/>
    public override string Description => "Interpolate the models' mean towards the base by the angle between their task vectors.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;
    /// <inheritdoc/>
    public override int MinModels => 2;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("filter_wise", ParameterScope.Global, ParameterKind.Flag, false, "One t per row (last dimension; a 1-D tensor is one row) instead of one per tensor (mergekit filter_wise)."),
    ];
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => (p.Flag("filter_wise") ? "mergekit model_stock, filter_wise: one t per row" : "mergekit model_stock: one t per tensor")
        + "; where 1 + (k − 1)·cos = 0 we take t = 0 (the base), mergekit divides by zero.";
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;

    /// <summary>The interpolation factor t for k models with mean cosine <paramref name="cos"/>; 0 where the formula's denominator vanishes.</summary>
    public static double Factor(int k, double cos)
    {
        double den = 1 + (k - 1) * cos;
        return Math.Abs(den) < 1e-12 ? 0 : k * cos / den;
    }

    /// <inheritdoc/>
    protected override ModelStockParameters Bind(MergeParameters p) => new(p.Flag("filter_wise"));

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, ModelStockParameters parameters, Span<T> output)
    {
        int n = output.Length;
        int row = parameters.FilterWise && input.Shape.Length >= 2 && input.Shape[^1] > 0 ? (int)Math.Min(n, input.Shape[^1]) : n;
        for (int s = 0; s < n; s += Math.Max(row, 1))
        {
            int len = Math.Min(row, n - s);
            MergeSegment(input, s, len, output.Slice(s, len));
        }
    }

    static void MergeSegment<T>(MergeInput<T> input, int start, int len, Span<T> output) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        int k = input.Models.Count;
        var o = input.Base.Span.Slice(start, len);
        var norms = new double[k];
        for (int i = 0; i < k; i++)
        {
            var m = input.Models[i].Span.Slice(start, len);
            double s = 0;
            for (int j = 0; j < len; j++) { double d = double.CreateChecked(m[j] - o[j]); s += d * d; }
            norms[i] = Math.Sqrt(s);
        }
        double cosSum = 0;
        int pairs = 0;
        for (int i = 0; i < k; i++)
            for (int l = i + 1; l < k; l++)
            {
                var x = input.Models[i].Span.Slice(start, len);
                var y = input.Models[l].Span.Slice(start, len);
                double dot = 0;
                for (int j = 0; j < len; j++) dot += double.CreateChecked(x[j] - o[j]) * double.CreateChecked(y[j] - o[j]);
                cosSum += Math.Clamp(dot / Math.Max(norms[i] * norms[l], 1e-6), -1, 1);
                pairs++;
            }
        double t = Factor(k, cosSum / pairs);
        T tt = T.CreateChecked(t), rest = T.CreateChecked(1 - t), kk = T.CreateChecked(k);
        for (int j = 0; j < len; j++)
        {
            T mean = T.Zero;
            for (int i = 0; i < k; i++) mean += input.Models[i].Span[start + j];
            output[j] = tt * (mean / kk) + rest * o[j]; // mergekit: t·(Σ w_i / N) + (1 − t)·w_0
        }
    }
}
