namespace ModelSoups.Merging;

/// <summary>
/// Model Stock (Jang et al. 2024), as mergekit <c>model_stock</c>: cosθ is the mean pairwise
/// cosine of the task vectors (norm product clamped to ≥ 1e-6, each cosine clamped to [−1, 1]);
/// t = k·cosθ / (1 + (k − 1)·cosθ); result t·mean(θ_i) + (1 − t)·θ_0. Whole tensor; sums in double.
/// </summary>
public sealed class ModelStock : MergeMethod
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
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } = [];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;

    /// <summary>The interpolation factor t for k models with mean cosine <paramref name="cos"/>; 0 where the formula's denominator vanishes.</summary>
    public static double Factor(int k, double cos)
    {
        double den = 1 + (k - 1) * cos;
        return Math.Abs(den) < 1e-12 ? 0 : k * cos / den;
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output)
    {
        int k = input.Models.Count;
        var o = input.Base.Span;
        var norms = new double[k];
        for (int i = 0; i < k; i++)
        {
            var m = input.Models[i].Span;
            double s = 0;
            for (int j = 0; j < o.Length; j++) { double d = double.CreateChecked(m[j] - o[j]); s += d * d; }
            norms[i] = Math.Sqrt(s);
        }
        double cosSum = 0;
        int pairs = 0;
        for (int i = 0; i < k; i++)
            for (int l = i + 1; l < k; l++)
            {
                var x = input.Models[i].Span;
                var y = input.Models[l].Span;
                double dot = 0;
                for (int j = 0; j < o.Length; j++) dot += double.CreateChecked(x[j] - o[j]) * double.CreateChecked(y[j] - o[j]);
                cosSum += Math.Clamp(dot / Math.Max(norms[i] * norms[l], 1e-6), -1, 1);
                pairs++;
            }
        double t = Factor(k, cosSum / pairs);
        T tt = T.CreateChecked(t), rest = T.CreateChecked(1 - t), inv = T.CreateChecked(1.0 / k);
        for (int j = 0; j < output.Length; j++)
        {
            T mean = T.Zero;
            for (int i = 0; i < k; i++) mean += input.Models[i].Span[j];
            output[j] = tt * (mean * inv) + rest * o[j];
        }
    }
}
