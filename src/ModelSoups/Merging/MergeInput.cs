namespace ModelSoups.Merging;

/// <summary>
/// Everything a merge method sees for one tensor name (or one block of it, for element-wise
/// methods): the gathered inputs already in the compute type T, the base, the resolved
/// parameters, and where the tensor sits in the model.
/// </summary>
public sealed record MergeInput<T>
{
    /// <summary>The input models' values, in recipe order, base excluded. All the same length as the output.</summary>
    public required IReadOnlyList<ReadOnlyMemory<T>> Models { get; init; }

    /// <summary>The base model's values; empty when <see cref="HasBase"/> is false.</summary>
    public ReadOnlyMemory<T> Base { get; init; }

    /// <summary>Whether a base model was given.</summary>
    public bool HasBase { get; init; }

    /// <summary>Parameter values resolved for this tensor.</summary>
    public required MergeParameters Parameters { get; init; }

    /// <summary>The tensor's name, e.g. "model.layers.3.mlp.up_proj.weight".</summary>
    public string TensorName { get; init; } = "";

    /// <summary>The whole tensor's shape (not the block's). Row-wise methods use its last dimension.</summary>
    public long[] Shape { get; init; } = [];

    /// <summary>The transformer layer the tensor belongs to (see <see cref="LayerIndex"/>), or null.</summary>
    public int? LayerIndex { get; init; }

    /// <summary>Number of layers in the model (for layer-dependent methods).</summary>
    public int LayerCount { get; init; }

    /// <summary>Seed for this tensor, from <see cref="MergeSeed.ForTensor"/>; randomised methods depend on nothing else.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Element offset of this block within the flattened tensor (0 for a whole tensor). Element-wise
    /// methods that draw random numbers index their counter-based generator with it, so results do
    /// not depend on how the engine splits the tensor.
    /// </summary>
    public long Offset { get; init; }

    /// <summary>
    /// Where the method takes its working memory (at most its <see cref="IMergeMethod.ScratchElements"/>); the
    /// engine passes memory inside its budget, the default allocates managed arrays.
    /// </summary>
    public MergeScratch Scratch { get; init; } = MergeScratch.Managed();
}
