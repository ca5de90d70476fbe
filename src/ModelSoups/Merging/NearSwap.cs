namespace ModelSoups.Merging;

/// <summary>
/// NearSwap (alchemonaut, QuartetAnemoi; mergekit <c>nearswap</c>): move the base toward the other
/// model only where the two are already close. Per element, with a the base and b the model:
/// w = clamp(t / max(|a − b|, 10⁻⁶), 0, 1), result w·b + (1 − w)·a — elements closer than t take b,
/// farther ones move by t. Element-wise.
/// </summary>
public sealed class NearSwap : MergeMethod<NearSwapParameters>
{
    /// <inheritdoc/>
    public override string Name => "nearswap";
    /// <inheritdoc/>
    public override string Description => "NearSwap: take the other model's value where it is within t of the base, move by t elsewhere.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;
    /// <inheritdoc/>
    public override int MaxModels => 1;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("t", ParameterScope.Global, ParameterKind.Number, null, "Closeness threshold: |base − model| ≤ t takes the model's value.") { Min = 0 },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => true;

    /// <inheritdoc/>
    protected override NearSwapParameters Bind(MergeParameters p) => new(p.Number("t"));

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, NearSwapParameters parameters, Span<T> output)
    {
        T t = T.CreateChecked(parameters.T);
        T floor = T.CreateChecked(1e-6);
        var a = input.Base.Span;
        var b = input.Models[0].Span;
        for (int j = 0; j < output.Length; j++)
        {
            T w = T.Clamp(t / T.Max(T.Abs(a[j] - b[j]), floor), T.Zero, T.One);
            output[j] = w * b[j] + (T.One - w) * a[j];
        }
    }
}
