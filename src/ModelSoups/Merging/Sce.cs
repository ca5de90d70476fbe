using System.Numerics.Tensors;

namespace ModelSoups.Merging;

/// <summary>
/// SCE (Wan et al. 2024, "FuseChat"; mergekit <c>sce</c>): <b>select</b> the top <c>select_topk</c>
/// fraction of the nonzero-variance elements by the variance of the task vectors across models
/// (k = ⌊select_topk · #nonzero variances⌋; ties by lower index) and zero the rest of every τ_i;
/// <b>calculate</b> one weight per model, w_i = mean(τ̂_i²) / Σ_l mean(τ̂_l²) (1/k each when that sum
/// is below 10⁻⁶); <b>erase</b> the entries whose sign disagrees with the elected sign of Σ_i τ̂_i;
/// result θ₀ + Σ_agree w_i τ̂_i / max(Σ_agree w_i, 10⁻⁶). Whole tensor; sums in double.
/// </summary>
public sealed class Sce : MergeMethod<SceParameters>
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
    public override long ScratchElements(long elementCount, int modelCount) => 2 * elementCount + (long)modelCount * Chunk + RankCut<float>.ScratchElementsFor(elementCount);
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) =>
        "mergekit sce: variance top-k (ties by lower index; torch.topk leaves them unspecified), weights from mean squared task vectors, sum sign election.";

    const int Chunk = 256;

    /// <inheritdoc/>
    protected override SceParameters Bind(MergeParameters p) => new(p.Number("select_topk"));

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, SceParameters parameters, Span<T> output)
    {
        int k = input.Models.Count, n = output.Length;
        var b = input.Base.Span;
        double topk = parameters.SelectTopK;
        // Chunks of C elements: row i of `vals` holds τ_i of the chunk, so every pass reads each
        // input span once per chunk and the per-element work runs over a column.
        var vals = input.Scratch.Take<T>(k * Chunk);
        bool ranking = topk is > 0 and < 1;
        var vars = ranking ? input.Scratch.Take<T>(n) : default;
        var ranked = ranking ? input.Scratch.Take<T>(n) : default;
        var cut = topk <= 0 ? RankCut<T>.None : RankCut<T>.All;
        if (ranking)
        {
            long nonzero = 0;
            for (int c = 0; c < n; c += Chunk)
            {
                int cl = Fill(input, b, c, vals);
                for (int j = 0; j < cl; j++) if ((vars[c + j] = Variance(vals, k, j)) != T.Zero) nonzero++;
            }
            long keep = (long)(nonzero * topk);
            vars.CopyTo(ranked);
            cut = keep == 0 ? RankCut<T>.None : RankCut<T>.Find(ranked, keep, input.Scratch);
        }
        Span<bool> selected = stackalloc bool[Chunk];

        // Calculate: w_i ∝ mean over the tensor of the selected τ̂_i².
        var sq = new double[k];
        var pass = cut;
        for (int c = 0; c < n; c += Chunk)
        {
            int cl = Fill(input, b, c, vals);
            for (int j = 0; j < cl; j++) selected[j] = pass.Take(ranking ? vars[c + j] : T.Zero);
            for (int i = 0; i < k; i++)
                for (int j = 0; j < cl; j++)
                    if (selected[j]) { double d = double.CreateChecked(vals[i * Chunk + j]); sq[i] += d * d; }
        }
        var w = new T[k];
        double total = 0;
        for (int i = 0; i < k; i++) total += sq[i] / n;
        for (int i = 0; i < k; i++) w[i] = Math.Abs(total) < 1e-6 ? T.One / T.CreateChecked(k) : T.CreateChecked(sq[i] / n / total);

        // Erase (sum election on the unweighted τ̂) and merge.
        T floor = T.CreateChecked(1e-6);
        pass = cut;
        for (int c = 0; c < n; c += Chunk)
        {
            int cl = Fill(input, b, c, vals);
            for (int j = 0; j < cl; j++)
            {
                if (!pass.Take(ranking ? vars[c + j] : T.Zero)) { output[c + j] = b[c + j] + T.Zero; continue; }
                T elect = T.Zero;
                for (int i = 0; i < k; i++) elect += vals[i * Chunk + j];
                bool positive = elect >= T.Zero;
                T mixed = T.Zero, weights = T.Zero;
                for (int i = 0; i < k; i++)
                {
                    T d = vals[i * Chunk + j];
                    if (d == T.Zero || T.IsNaN(d) || (d > T.Zero) != positive) continue;
                    mixed += d * w[i];
                    weights += w[i];
                }
                output[c + j] = b[c + j] + mixed / T.Max(weights, floor);
            }
        }
    }

    // Row i of vals ← τ_i of the chunk starting at c; returns the chunk length.
    static int Fill<T>(MergeInput<T> input, ReadOnlySpan<T> b, int c, Span<T> vals) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        int cl = Math.Min(Chunk, b.Length - c);
        for (int i = 0; i < input.Models.Count; i++)
            TensorPrimitives.Subtract(input.Models[i].Span.Slice(c, cl), b.Slice(c, cl), vals.Slice(i * Chunk, cl));
        return cl;
    }

    // Population variance of column j over the models (torch.var(unbiased=False)), in double, rounded to T.
    static T Variance<T>(ReadOnlySpan<T> vals, int k, int j) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        double mean = 0;
        for (int i = 0; i < k; i++) mean += double.CreateChecked(vals[i * Chunk + j]);
        mean /= k;
        double v = 0;
        for (int i = 0; i < k; i++) { double d = double.CreateChecked(vals[i * Chunk + j]) - mean; v += d * d; }
        return T.CreateChecked(v / k);
    }
}
