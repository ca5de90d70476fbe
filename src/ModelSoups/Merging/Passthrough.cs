namespace ModelSoups.Merging;

/// <summary>
/// Copies one input model's tensor, multiplied by that model's <c>scale</c> (mergekit <c>passthrough</c>,
/// whose per-model <c>scale</c> is used e.g. to damp stacked layers; layer stacking is the recipe's job).
/// </summary>
public sealed class Passthrough : MergeMethod<PassthroughParameters>
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
    protected override PassthroughParameters Bind(MergeParameters p)
    {
        int source = p.Integer("source");
        // The scale of a source that does not exist is never read: validation refuses it.
        return new PassthroughParameters(source, source < p.ModelCount ? p.Number("scale", source) : 1, p.ModelCount);
    }

    /// <inheritdoc/>
    protected override void ValidateParameters(PassthroughParameters p, bool hasBase, string where)
    {
        if (p.Source >= p.ModelCount)
            throw new ModelSoupsException($"passthrough source {p.Source} does not exist{where}: there are {p.ModelCount} models (0-based).");
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, PassthroughParameters parameters, Span<T> output)
    {
        int source = parameters.Source;
        double scale = parameters.Scale;
        var x = input.Models[source].Span;
        if (scale == 1) { x.CopyTo(output); return; }
        T s = T.CreateChecked(scale);
        for (int j = 0; j < output.Length; j++) output[j] = x[j] * s;
    }
}
