namespace ModelSoups.Merging;

/// <summary>Copies one input model's tensor unchanged (mergekit <c>passthrough</c>; layer stacking is the recipe's job).</summary>
public sealed class Passthrough : MergeMethod
{
    /// <inheritdoc/>
    public override string Name => "passthrough";
    /// <inheritdoc/>
    public override string Description => "Copy the tensor from one model.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.None;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("source", ParameterScope.Global, ParameterKind.Integer, 0.0, "Index (0-based, recipe order) of the model to copy.") { Min = 0 },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => true;

    /// <inheritdoc/>
    protected override void ValidateMore(MergeParameters p, bool hasBase, string where)
    {
        if (p.Integer("source") >= p.ModelCount)
            throw new ModelSoupsException($"passthrough source {p.Integer("source")} does not exist{where}: there are {p.ModelCount} models (0-based).");
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output) =>
        input.Models[input.Parameters.Integer("source")].Span.CopyTo(output);
}
