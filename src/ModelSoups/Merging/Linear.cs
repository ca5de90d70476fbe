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
        double sum = 0;
        for (int i = 0; i < p.ModelCount; i++) sum += p.Number("weight", i);
        if (Math.Abs(sum) < 1e-8)
            throw new ModelSoupsException($"The linear weights sum to zero{where}, so they cannot be normalised; change a weight or set normalize: false.");
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output)
    {
        var p = input.Parameters;
        int k = p.ModelCount;
        // Accumulate in double (one chunk at a time, model by model) and round once:
        // identical inputs give back exactly the input.
        var w = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) sum += w[i] = p.Number("weight", i);
        double div = p.Flag("normalize") ? sum : 1;
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
}
