namespace ModelSoups.Merging;

/// <summary>
/// Copies one input model's tensor, multiplied by that model's <c>scale</c> (mergekit <c>passthrough</c>,
/// whose per-model <c>scale</c> is used e.g. to damp stacked layers; layer stacking is the recipe's job).
/// </summary>
public sealed class Passthrough : MergeMethod
{
    /// <inheritdoc/>
    public override string Name => "passthrough";
    /// <inheritdoc/>
    public override string Description => "Copy the tensor from one model, optionally scaled.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.None;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("source", ParameterScope.Global, ParameterKind.Integer, 0.0, "Index (0-based, recipe order) of the model to copy (mergekit takes exactly one model).") { Min = 0 },
        new("scale", ParameterScope.PerModel, ParameterKind.Number, 1.0, "Factor the copied tensor is multiplied by (mergekit scale; 1 copies the bits)."),
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => true;

    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => "mergekit passthrough: the tensor of one model times its scale; source picks the model when several are given (mergekit takes exactly one).";

    /// <inheritdoc/>
    protected override void ValidateMore(MergeParameters p, bool hasBase, string where)
    {
        if (p.Integer("source") >= p.ModelCount)
            throw new ModelSoupsException($"passthrough source {p.Integer("source")} does not exist{where}: there are {p.ModelCount} models (0-based).");
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output)
    {
        int source = input.Parameters.Integer("source");
        double scale = input.Parameters.Number("scale", source);
        var x = input.Models[source].Span;
        if (scale == 1) { x.CopyTo(output); return; }
        T s = T.CreateChecked(scale);
        for (int j = 0; j < output.Length; j++) output[j] = x[j] * s;
    }
}
