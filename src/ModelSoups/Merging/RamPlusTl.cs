namespace ModelSoups.Merging;

/// <summary>
/// RAM+ tensor-local (arXiv 2601.13572; mergekit <c>ramplus_tl</c>): RAM, with each model's unique
/// changes amplified by λ_i = 1 + r·clamp(ρ_i, 0, α), ρ_i = (its shared changes) / max(its unique
/// changes, ε), counted over the tensor — a model whose changes are mostly shared, and so averaged
/// down, gets its unique ones scaled up. Whole tensor (the counts).
/// </summary>
public sealed class RamPlusTl : MergeMethod<RamParameters>
{
    /// <inheritdoc/>
    public override string Name => "ramplus_tl";
    /// <inheritdoc/>
    public override string Description => "RAM+ (tensor-local): RAM with each model's unique changes scaled up by its share of overlapping ones.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("r", ParameterScope.Global, ParameterKind.Number, 0.1, "Strength of the amplification of unique changes.") { Min = 0 },
        new("alpha", ParameterScope.Global, ParameterKind.Number, 0.2, "Largest overlap ratio ρ counted.") { Min = 0 },
        Ram.EpsilonDef,
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;
    /// <inheritdoc/>
    public override long ScratchElements(long elementCount, int modelCount) => (long)modelCount * 256;

    /// <inheritdoc/>
    protected override RamParameters Bind(MergeParameters p) => new(p.Number("epsilon"), p.Number("r"), p.Number("alpha"));

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, RamParameters p, Span<T> output)
    {
        double epsilon = p.Epsilon, r = p.R, alpha = p.Alpha;
        T eps = T.CreateChecked(epsilon);
        var (unique, shared) = Ram.Counts(input, eps);
        var lambda = new T[input.Models.Count];
        for (int i = 0; i < lambda.Length; i++)
        {
            double rho = shared[i] / Math.Max(unique[i], epsilon);
            lambda[i] = T.CreateChecked(1 + r * Math.Clamp(rho, 0, alpha));
        }
        Ram.Combine(input, eps, lambda, output);
    }
}
