using ModelSoups.Merging;
using ModelSoups.Tensors;

namespace ModelSoups.Engine;

/// <summary>What the engine does for one output tensor.</summary>
public enum TensorAction
{
    /// <summary>Run the merge method over the converted inputs.</summary>
    Merge,

    /// <summary>Copy the bytes of one input unchanged (non-float tensors, or a tensor taken from the base).</summary>
    Copy,
}

/// <summary>
/// One output tensor of a <see cref="MergePlan"/>: where its inputs come from, the resolved
/// parameters, and how the engine will process it.
/// </summary>
public sealed class TensorTask
{
    /// <summary>The output tensor (name, output dtype, shape).</summary>
    public required TensorInfo Output { get; init; }

    /// <summary>Merge or copy.</summary>
    public required TensorAction Action { get; init; }

    /// <summary>For <see cref="TensorAction.Copy"/>: the tensor whose bytes are copied.</summary>
    public ModelSoups.Checkpoints.TensorRef? CopySource { get; init; }

    /// <summary>For <see cref="TensorAction.Merge"/>: parameters resolved for this tensor.</summary>
    public MergeParameters? Parameters { get; init; }

    /// <summary>Layer index parsed from the name, if any.</summary>
    public int? LayerIndex { get; init; }

    /// <summary>Layers in this tensor's layer stack (for layer-dependent methods and gradients); the plan's count for non-layer tensors.</summary>
    public int LayerCount { get; init; }

    /// <summary>True when the method may process this tensor in blocks.</summary>
    public bool Elementwise { get; init; }

    /// <summary>
    /// For merges whose inputs are not "the tensor of the same name in every input" (slices: each
    /// output layer reads its own layer of each of its slice's sources): the tensors merged, the base
    /// first when <see cref="HasBase"/>. Null: the tensor named <see cref="TensorInfo.Name"/> in every
    /// one of the plan's inputs.
    /// </summary>
    public IReadOnlyList<ModelSoups.Checkpoints.TensorRef>? Sources { get; init; }

    /// <summary>With <see cref="Sources"/>: the index in the plan's inputs of each source (null: source i is input i).</summary>
    public IReadOnlyList<int>? SourceInputs { get; init; }

    /// <summary>With <see cref="Sources"/>: whether <see cref="Sources"/>[0] is the base. Null: the plan's <see cref="MergePlan.HasBase"/>.</summary>
    public bool? HasBase { get; init; }

    /// <summary>
    /// For embeddings whose vocabulary changes (tokenizer union, another model's tokenizer): which
    /// rows of which <see cref="Sources"/> make each output row of each input. Null: the inputs'
    /// elements are taken as they are.
    /// </summary>
    public ModelSoups.Tokenizers.EmbeddingRows? Rows { get; init; }

    /// <summary>Why a tensor is copied rather than merged, for the summary (null for merges).</summary>
    public string? Note { get; init; }

    /// <summary>
    /// The task that merges into <paramref name="name"/> with <paramref name="parameters"/>, which are validated here:
    /// once, at planning (the engine does not validate them again). The output is written in <paramref name="outDType"/>
    /// (the recipe's) or else <paramref name="inputDType"/> (the reference input's), as f32 where that cannot be written.
    /// </summary>
    /// <param name="method">the recipe's method.</param>
    /// <param name="parameters">the parameters resolved for this tensor.</param>
    /// <param name="hasBase">whether the method's first input is the base.</param>
    /// <param name="name">the output tensor's name.</param>
    /// <param name="shape">the output tensor's shape.</param>
    /// <param name="outDType">the recipe's output dtype, if it sets one.</param>
    /// <param name="inputDType">the dtype of the reference input (the base, else the first model).</param>
    /// <param name="layerIndex">see <see cref="LayerIndex"/>.</param>
    /// <param name="layerCount">see <see cref="LayerCount"/>.</param>
    /// <param name="sources">see <see cref="Sources"/>; with them, <see cref="HasBase"/> is <paramref name="hasBase"/>.</param>
    /// <param name="sourceInputs">see <see cref="SourceInputs"/>.</param>
    /// <param name="rows">see <see cref="Rows"/>.</param>
    public static TensorTask Merge(IMergeMethod method, MergeParameters parameters, bool hasBase, string name, long[] shape,
        DType? outDType, DType inputDType, int? layerIndex = null, int layerCount = 0,
        IReadOnlyList<ModelSoups.Checkpoints.TensorRef>? sources = null, IReadOnlyList<int>? sourceInputs = null, ModelSoups.Tokenizers.EmbeddingRows? rows = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.Validate(parameters, hasBase, name);
        return new TensorTask
        {
            Output = new TensorInfo(name, (outDType ?? inputDType).WritableOrF32(), shape),
            Action = TensorAction.Merge,
            Parameters = parameters,
            LayerIndex = layerIndex,
            LayerCount = layerCount,
            Elementwise = method.IsElementwise(parameters),
            Sources = sources,
            SourceInputs = sourceInputs,
            HasBase = sources is null ? null : hasBase,
            Rows = rows,
        };
    }
}
