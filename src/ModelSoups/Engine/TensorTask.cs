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
}
