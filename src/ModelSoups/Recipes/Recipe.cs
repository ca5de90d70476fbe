using ModelSoups.Tensors;

namespace ModelSoups.Recipes;

/// <summary>One input model of a recipe and its per-model parameters (e.g. weight, density).</summary>
/// <param name="Path">Absolute path of the HF folder or .safetensors file.</param>
/// <param name="Spelled">The path as the recipe wrote it, for messages and provenance.</param>
/// <param name="Parameters">Per-model parameters such as weight or density.</param>
public sealed record RecipeModel(string Path, string Spelled, IReadOnlyDictionary<string, RecipeValue> Parameters)
{
    /// <summary>
    /// How to read this model when it is a PyTorch (<c>torch.save</c>) checkpoint: the recipe's
    /// <c>state_dict_key</c> / <c>strip_prefix</c> for this path (its entry's, else the recipe's top-level ones),
    /// or null when the recipe says nothing. Set per path: every entry naming the same path is read the same way.
    /// </summary>
    public Checkpoints.CheckpointOpenOptions? Open { get; init; }

    /// <summary>The options to open this model with: the recipe's, each one the recipe leaves out taken from <paramref name="given"/> (the command's flags).</summary>
    public Checkpoints.CheckpointOpenOptions OpenOptions(Checkpoints.CheckpointOpenOptions given) => Open is null ? given : new()
    {
        StateDictKey = Open.StateDictKey ?? given.StateDictKey,
        StripPrefix = Open.StripPrefix ?? given.StripPrefix,
    };
}

/// <summary>One source of a slice: layers [<paramref name="Start"/>, <paramref name="End"/>) of one model, with per-source parameters on <see cref="RecipeModel.Parameters"/>.</summary>
/// <param name="Model">The model (its parameters are this source's parameters).</param>
/// <param name="Start">First layer taken (0-based).</param>
/// <param name="End">One past the last layer taken (mergekit's <c>layer_range: [a, b]</c> is half-open).</param>
public sealed record RecipeSliceSource(RecipeModel Model, int Start, int End)
{
    /// <summary>Number of layers this source contributes.</summary>
    public int Length => End - Start;
}

/// <summary>
/// One entry of mergekit's <c>slices:</c> list: output layers made by merging the same number of
/// layers from each source with the recipe's method.
/// </summary>
/// <param name="Sources">The sources, in recipe order.</param>
/// <param name="BaseModel">The slice's own base model (mergekit <c>OutputSliceDefinition.base_model</c>), or null for the recipe's.</param>
/// <param name="Parameters">Slice parameters: they override the recipe's global ones for this slice's tensors.</param>
public sealed record RecipeSlice(IReadOnlyList<RecipeSliceSource> Sources, RecipeModel? BaseModel, IReadOnlyDictionary<string, RecipeValue> Parameters);

/// <summary>
/// A merge as the user asked for it: a mergekit-compatible subset (merge_method, base_model,
/// models with parameters, global parameters, dtype, out_dtype) plus our extensions
/// (random_seed, allow_missing). Built by <see cref="RecipeParser"/> from YAML or by the CLI's
/// quick form; checked against the method's declared parameters by the merge planner.
/// </summary>
public sealed record Recipe
{
    /// <summary>Method name, e.g. "linear", "ties".</summary>
    public required string MergeMethod { get; init; }

    /// <summary>The base (pre-trained) model, absolute path; null when the recipe has none.</summary>
    public RecipeModel? BaseModel { get; init; }

    /// <summary>The models to merge, in recipe order. With <see cref="Slices"/>: every model the slices name, once each, without parameters.</summary>
    public required IReadOnlyList<RecipeModel> Models { get; init; }

    /// <summary>mergekit's <c>slices:</c> (layer ranges stacked into the output), or null for a merge of whole models.</summary>
    public IReadOnlyList<RecipeSlice>? Slices { get; init; }

    /// <summary>Tokenizer and chat-template settings, or null: the tokenizer files of the base (else the first model) are copied.</summary>
    public RecipeTokenizer? Tokenizer { get; init; }

    /// <summary>The document's <c>name:</c> in a recipe with several documents (mergekit-multi), or null.</summary>
    public string? Name { get; init; }

    /// <summary>Global parameters (per-model ones live on <see cref="RecipeModel"/>).</summary>
    public IReadOnlyDictionary<string, RecipeValue> Parameters { get; init; } = new Dictionary<string, RecipeValue>();

    /// <summary>Compute dtype: F32 (default) or F64.</summary>
    public DType ComputeDType { get; init; } = DType.F32;

    /// <summary>
    /// Output dtype of float tensors; null keeps each tensor's input dtype. A recipe's
    /// <c>out_dtype</c>, else its <c>dtype</c> (mergekit writes in <c>dtype</c> when no <c>out_dtype</c> is given).
    /// </summary>
    public DType? OutDType { get; init; }

    /// <summary>Seed for random methods (DARE); each tensor derives its own stream from it and its name.</summary>
    public ulong RandomSeed { get; init; }

    /// <summary>Take tensors that are missing from some inputs (or differ in shape) from the base model instead of failing.</summary>
    public bool AllowMissingFromBase { get; init; }

    /// <summary>
    /// <c>sparsity: preserve</c>: the models are sparse with one shared mask (Sparse Model Soups, Zimmer et al. 2024).
    /// The merge refuses models whose zero patterns differ and writes exactly 0 wherever every model is 0.
    /// </summary>
    public bool PreserveSparsity { get; init; }

    /// <summary>The recipe file, when the recipe came from one.</summary>
    public string? SourcePath { get; init; }

    /// <summary>The recipe's original text (YAML), recorded in the output for provenance.</summary>
    public string? SourceText { get; init; }
}
