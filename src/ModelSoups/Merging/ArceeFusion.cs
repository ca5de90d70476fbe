
namespace ModelSoups.Merging;

/// <summary>
/// Arcee Fusion (mergekit <c>arcee_fusion</c>): take the other model's value only where it matters.
/// With a the base and b the model, per row (last dimension; a 1-D tensor is one row)
/// KL = Σ p log(p/q), p = softmax(b) + 10⁻⁸, q = softmax(a) + 10⁻⁸; importance s_j = |b_j − a_j|·KL_row;
/// threshold = median(s) + 1.5·(Q3 − Q1), quantiles taken as sorted(s)[⌊q·(n − 1)⌋]; result
/// a + (b − a) where s ≥ threshold, else a. Whole tensor; softmax and KL in double.
/// </summary>
public sealed class ArceeFusion : MergeMethod<NoParameters>
{
    /// <summary>mergekit samples this many importance scores to estimate the quantiles of larger tensors.</summary>
    public const int MergekitSampleLimit = 1_000_000;

    /// <inheritdoc/>
    public override string Name => "arcee_fusion";
    /// <inheritdoc/>
    public override string Description => "Arcee Fusion: move the base to the other model only where the change's importance passes a dynamic threshold.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;
    /// <inheritdoc/>
    public override int MaxModels => 1;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } = [];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;
    /// <inheritdoc/>
    public override long ScratchElements(long elementCount, int modelCount) => 2 * elementCount;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) =>
        $"mergekit arcee_fusion; deliberate difference: tensors over {MergekitSampleLimit:N0} elements use exact quantiles, where mergekit estimates them from a random sample of {MergekitSampleLimit:N0}.";

    /// <inheritdoc/>
    protected override NoParameters Bind(MergeParameters parameters) => NoParameters.Value;

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, NoParameters parameters, Span<T> output)
    {
        var a = input.Base.Span;
        var b = input.Models[0].Span;
        int n = output.Length;
        if (n == 0) return;
        int row = input.Shape.Length >= 2 && input.Shape[^1] > 0 ? (int)Math.Min(n, input.Shape[^1]) : n;
        var score = input.Scratch.Take<T>(n);
        var sorted = input.Scratch.Take<T>(n);
        for (int s = 0; s < n; s += row)
        {
            int len = Math.Min(row, n - s);
            T kl = T.CreateChecked(RowKl(a.Slice(s, len), b.Slice(s, len)));
            for (int j = s; j < s + len; j++) score[j] = T.Abs(b[j] - a[j]) * kl;
        }
        score.CopyTo(sorted);
        sorted.Sort();
        T Quantile(Span<T> x, double q) => x[(int)Math.Floor(q * (x.Length - 1))];
        T median = Quantile(sorted, 0.5), q1 = Quantile(sorted, 0.25), q3 = Quantile(sorted, 0.75);
        T threshold = median + T.CreateChecked(1.5) * (q3 - q1);
        for (int j = 0; j < n; j++) output[j] = score[j] >= threshold ? a[j] + (b[j] - a[j]) : a[j];
    }

    /// <summary>KL(softmax(b) + ε ‖ softmax(a) + ε) of one row, ε = 10⁻⁸, as mergekit's <c>_compute_importance</c>.</summary>
    public static double RowKl<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        double ma = double.NegativeInfinity, mb = double.NegativeInfinity;
        for (int j = 0; j < a.Length; j++) { ma = Math.Max(ma, double.CreateChecked(a[j])); mb = Math.Max(mb, double.CreateChecked(b[j])); }
        double za = 0, zb = 0;
        for (int j = 0; j < a.Length; j++) { za += Math.Exp(double.CreateChecked(a[j]) - ma); zb += Math.Exp(double.CreateChecked(b[j]) - mb); }
        double kl = 0;
        for (int j = 0; j < a.Length; j++)
        {
            double p = Math.Exp(double.CreateChecked(b[j]) - mb) / zb + 1e-8;
            double q = Math.Exp(double.CreateChecked(a[j]) - ma) / za + 1e-8;
            kl += p * Math.Log(p / q);
        }
        return kl;
    }
}
