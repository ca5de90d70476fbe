namespace ModelSoups.Merging;

/// <summary>
/// SCE (Wan et al. 2024, "FuseChat"; mergekit <c>sce</c>): <b>select</b> the top <c>select_topk</c>
/// fraction of the nonzero-variance elements by the variance of the task vectors across models
/// (k = ⌊select_topk · #nonzero variances⌋; ties by lower index) and zero the rest of every τ_i;
/// <b>calculate</b> one weight per model, w_i = mean(τ̂_i²) / Σ_l mean(τ̂_l²) (1/k each when that sum
/// is below 10⁻⁶); <b>erase</b> the entries whose sign disagrees with the elected sign of Σ_i τ̂_i;
/// result θ₀ + Σ_agree w_i τ̂_i / max(Σ_agree w_i, 10⁻⁶). Whole tensor; sums in double.
/// </summary>
public sealed class Sce : MergeMethod
{
    /// <inheritdoc/>
    public override string Name => "sce";
    /// <inheritdoc/>
    public override string Description => "SCE: select high-variance elements, calculate weights from squared magnitudes, erase minority signs.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("select_topk", ParameterScope.Global, ParameterKind.Number, 1.0, "Fraction of elements (by variance across the models) kept; 1 keeps all.") { Min = 0, Max = 1 },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;
    /// <inheritdoc/>
    public override long ScratchElements(long elementCount, int modelCount) => elementCount + modelCount;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) =>
        "mergekit sce: variance top-k (ties by lower index; torch.topk leaves them unspecified), weights from mean squared task vectors, sum sign election.";

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output)
    {
        int k = input.Models.Count, n = output.Length;
        var b = input.Base.Span;
        double topk = input.Parameters.Number("select_topk");
        T[]? vars = topk < 1 ? new T[n] : null;
        var cut = RankCut<T>.All;
        if (topk <= 0) cut = RankCut<T>.None;
        else if (vars is not null)
        {
            long nonzero = 0;
            for (int j = 0; j < n; j++) if ((vars[j] = Variance(input, b, j)) != T.Zero) nonzero++;
            long keep = (long)(nonzero * topk);
            cut = keep == 0 ? RankCut<T>.None : RankCut<T>.Find(vars, keep); // Find reorders vars; recomputed below
        }

        // Calculate: w_i ∝ mean over the tensor of the selected τ̂_i².
        var sq = new double[k];
        var pass = cut;
        for (int j = 0; j < n; j++)
        {
            if (!pass.Take(vars is null ? T.Zero : Variance(input, b, j))) continue;
            for (int i = 0; i < k; i++) { double d = double.CreateChecked(input.Models[i].Span[j] - b[j]); sq[i] += d * d; }
        }
        var w = new T[k];
        double total = 0;
        for (int i = 0; i < k; i++) total += sq[i] / n;
        for (int i = 0; i < k; i++) w[i] = Math.Abs(total) < 1e-6 ? T.One / T.CreateChecked(k) : T.CreateChecked(sq[i] / n / total);

        // Erase and merge.
        T floor = T.CreateChecked(1e-6);
        pass = cut;
        for (int j = 0; j < n; j++)
        {
            if (!pass.Take(vars is null ? T.Zero : Variance(input, b, j))) { output[j] = b[j] + T.Zero; continue; }
            T elect = T.Zero;
            for (int i = 0; i < k; i++) elect += input.Models[i].Span[j] - b[j];
            bool positive = elect >= T.Zero;
            T mixed = T.Zero, weights = T.Zero;
            for (int i = 0; i < k; i++)
            {
                T d = input.Models[i].Span[j] - b[j];
                if (d == T.Zero || T.IsNaN(d) || (d > T.Zero) != positive) continue;
                mixed += d * w[i];
                weights += w[i];
            }
            output[j] = b[j] + mixed / T.Max(weights, floor);
        }
    }

    // Population variance of τ_ij over the models (torch.var(unbiased=False)), in double, rounded to T.
    static T Variance<T>(MergeInput<T> input, ReadOnlySpan<T> b, int j) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        int k = input.Models.Count;
        double mean = 0;
        for (int i = 0; i < k; i++) mean += double.CreateChecked(input.Models[i].Span[j] - b[j]);
        mean /= k;
        double v = 0;
        for (int i = 0; i < k; i++) { double d = double.CreateChecked(input.Models[i].Span[j] - b[j]) - mean; v += d * d; }
        return T.CreateChecked(v / k);
    }
}
