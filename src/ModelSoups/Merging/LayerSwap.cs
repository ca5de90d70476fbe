namespace ModelSoups.Merging;

/// <summary>
/// Layer Swapping (Bandarkar et al. 2024): start from the task expert and take the bottom
/// <c>bottom</c> and top <c>top</c> transformer layers from the language expert. Optional
/// transition zones of <c>transition</c> layers next to each swapped block blend linearly
/// (α = language share). Non-layer tensors (embeddings, final norm, head) come from
/// <c>non_layer_source</c>, because the paper leaves them open.
/// </summary>
public sealed class LayerSwap : MergeMethod<LayerSwapParameters>
{
    /// <inheritdoc/>
    public override string Name => "layer_swap";
    /// <inheritdoc/>
    public override string Description => "Take the bottom and top layers from the language expert, the rest from the task expert.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.None;
    /// <inheritdoc/>
    public override int MinModels => 2;
    /// <inheritdoc/>
    public override int MaxModels => 2;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("language_model", ParameterScope.Global, ParameterKind.Integer, 1.0, "Which input (0 or 1, recipe order) is the language expert; the other is the task expert.") { Min = 0, Max = 1 },
        new("bottom", ParameterScope.Global, ParameterKind.Integer, null, "Number of bottom layers taken from the language expert.") { Min = 0 },
        new("top", ParameterScope.Global, ParameterKind.Integer, null, "Number of top layers taken from the language expert.") { Min = 0 },
        new("transition", ParameterScope.Global, ParameterKind.Integer, 0.0, "Width in layers of each blending zone between the experts.") { Min = 0 },
        new("non_layer_source", ParameterScope.Global, ParameterKind.Choice, "task", "Where embeddings, final norm and head come from.") { Choices = ["task", "language", "average"] },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => true;

    /// <summary>
    /// The language expert's share α for layer <paramref name="layer"/> of <paramref name="count"/>:
    /// 1 inside the bottom/top blocks; inside a transition zone of width w next to a block, the
    /// d-th layer away (d = 1..w) gets 1 − d/(w + 1); 0 elsewhere; overlapping zones take the larger α.
    /// </summary>
    public static double LanguageShare(int layer, int count, int bottom, int top, int transition)
    {
        if (layer < bottom || layer >= count - top) return 1;
        double alpha = 0;
        int fromBottom = layer - bottom + 1;          // 1 for the first layer above the bottom block
        int fromTop = count - top - layer;            // 1 for the last layer below the top block
        if (bottom > 0 && fromBottom <= transition) alpha = Math.Max(alpha, 1 - fromBottom / (transition + 1.0));
        if (top > 0 && fromTop <= transition) alpha = Math.Max(alpha, 1 - fromTop / (transition + 1.0));
        return alpha;
    }

    /// <inheritdoc/>
    protected override LayerSwapParameters Bind(MergeParameters p) =>
        new(p.Integer("language_model"), p.Integer("bottom"), p.Integer("top"), p.Integer("transition"),
            p.Choice("non_layer_source") switch { "language" => 1, "average" => 0.5, _ => 0 });

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, LayerSwapParameters p, Span<T> output)
    {
        int lang = p.LanguageModel;
        var language = input.Models[lang].Span;
        var task = input.Models[1 - lang].Span;
        double alpha = input.LayerIndex is int layer
            ? LanguageShare(layer, input.LayerCount, p.Bottom, p.Top, p.Transition)
            : p.NonLayerShare;
        if (alpha == 1) { language.CopyTo(output); return; }
        if (alpha == 0) { task.CopyTo(output); return; }
        T a = T.CreateChecked(alpha), b = T.CreateChecked(1 - alpha);
        for (int j = 0; j < output.Length; j++) output[j] = a * language[j] + b * task[j];
    }
}
