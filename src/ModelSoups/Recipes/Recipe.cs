using ModelSoups.Tensors;

namespace ModelSoups.Recipes;

/// <summary>One input model of a recipe and its per-model parameters (e.g. weight, density).</summary>
/// <param name="Path">Absolute path of the HF folder or .safetensors file.</param>
/// <param name="Spelled">The path as the recipe wrote it, for messages and provenance.</param>
/// <param name="Parameters">Per-model parameters such as weight or density.</param>
public sealed record RecipeModel(string Path, string Spelled, IReadOnlyDictionary<string, RecipeValue> Parameters);

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

    /// <summary>The models to merge, in recipe order.</summary>
    public required IReadOnlyList<RecipeModel> Models { get; init; }

    /// <summary>Global parameters (per-model ones live on <see cref="RecipeModel"/>).</summary>
    public IReadOnlyDictionary<string, RecipeValue> Parameters { get; init; } = new Dictionary<string, RecipeValue>();

    /// <summary>Compute dtype: F32 (default) or F64.</summary>
    public DType ComputeDType { get; init; } = DType.F32;

    /// <summary>Output dtype of float tensors; null keeps each tensor's input dtype.</summary>
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
