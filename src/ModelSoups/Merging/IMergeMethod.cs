using System.Numerics;

namespace ModelSoups.Merging;

/// <summary>
/// A merge method: a pure function from the inputs of one tensor name to the merged tensor.
/// It declares its parameters, its base-model use, how many models it accepts, and whether it is
/// element-wise (then the engine may split a tensor into blocks and call it once per block).
/// Loading, converting, threads, memory and writing are the engine's job.
/// </summary>
public interface IMergeMethod
{
    /// <summary>The recipe name, e.g. "ties".</summary>
    string Name { get; }

    /// <summary>One line for help text.</summary>
    string Description { get; }

    /// <summary>
    /// One line for <c>soup merge --plan</c>: which definition these parameters select (mergekit's,
    /// a paper's, PEFT's) and any deliberate difference from mergekit.
    /// </summary>
    string Definition(MergeParameters parameters);

    /// <summary>Declared parameters.</summary>
    IReadOnlyList<MergeParameterDef> Parameters { get; }

    /// <summary>How the base model is used.</summary>
    BaseModelUse BaseModel { get; }

    /// <summary>Fewest input models (base excluded).</summary>
    int MinModels { get; }

    /// <summary>Most input models (base excluded); <see cref="int.MaxValue"/> for no limit.</summary>
    int MaxModels { get; }

    /// <summary>
    /// True when output element j depends only on input elements j (given these parameters, once planned by
    /// <see cref="Validate"/>):
    /// the engine may then call <see cref="Merge{T}"/> per block with <see cref="MergeInput{T}.Offset"/> set.
    /// Otherwise it must pass the whole tensor.
    /// </summary>
    bool IsElementwise(MergeParameters parameters);

    /// <summary>
    /// Most elements of T (counted as 4 bytes each for data of other types: sort keys, histograms) the method takes from
    /// <see cref="MergeInput{T}.Scratch"/> while merging a tensor or block of <paramref name="elementCount"/> elements of
    /// <paramref name="modelCount"/> models. The engine reserves exactly this (plus <see cref="MergeScratch.SlackBytes"/>)
    /// inside its memory budget; taking more fails.
    /// </summary>
    long ScratchElements(long elementCount, int modelCount);

    /// <summary>
    /// The planning step, once per tensor: checks model count, base presence and every parameter value — throwing
    /// <see cref="ModelSoupsException"/> with one sentence on the first problem — and binds the values into the
    /// method's typed record, which <see cref="Merge{T}"/> reads. Merging never validates or binds: parameters not
    /// planned (or changed since) are refused with <see cref="InvalidOperationException"/>.
    /// </summary>
    void Validate(MergeParameters parameters, bool hasBase, string? tensorName = null);

    /// <summary>Merges one tensor (or block) into <paramref name="output"/>, which must not overlap any input.</summary>
    void Merge<T>(MergeInput<T> input, Span<T> output) where T : unmanaged, IBinaryFloatingPointIeee754<T>;
}
