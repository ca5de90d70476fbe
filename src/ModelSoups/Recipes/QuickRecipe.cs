using ModelSoups.Tensors;

namespace ModelSoups.Recipes;

/// <summary>
/// The recipe behind <c>soup merge --method M --models A B C</c>: the same <see cref="Recipe"/> a
/// YAML file would give, so both forms are validated and run by the same code.
/// </summary>
public static class QuickRecipe
{
    /// <summary>Builds a recipe from command-line pieces. Paths are relative to the current folder.</summary>
    /// <param name="method">merge method name.</param>
    /// <param name="models">model paths, in order.</param>
    /// <param name="basePath">base model path, or null.</param>
    /// <param name="weights">per-model weights (must match the model count), or null.</param>
    /// <param name="density">per-model density for every model, or null.</param>
    /// <param name="settings">global <c>key=value</c> parameters.</param>
    /// <param name="computeDType">"float32" or "float64", or null.</param>
    /// <param name="outDType">output dtype name, or null.</param>
    /// <param name="allowMissing">take tensors missing from (or of another shape in) some inputs from the base.</param>
    public static Recipe Build(
        string method,
        IReadOnlyList<string> models,
        string? basePath = null,
        IReadOnlyList<double>? weights = null,
        double? density = null,
        IReadOnlyList<string>? settings = null,
        string? computeDType = null,
        string? outDType = null,
        bool allowMissing = false)
    {
        if (models.Count == 0) throw new RecipeException("--models: give at least one model path");
        if (weights is not null && weights.Count != models.Count)
            throw new RecipeException($"--weights: {weights.Count} weight(s) for {models.Count} model(s); give one weight per model");
        var list = new List<RecipeModel>();
        for (int i = 0; i < models.Count; i++)
        {
            var p = new Dictionary<string, RecipeValue>();
            if (weights is not null) p["weight"] = new RecipeValue.Number(weights[i]);
            if (density is { } d) p["density"] = new RecipeValue.Number(d);
            list.Add(Model(models[i], "--models", p));
        }
        var global = new Dictionary<string, RecipeValue>(StringComparer.Ordinal);
        ulong seed = 0;
        bool preserveSparsity = false;
        foreach (var s in settings ?? [])
        {
            var eq = s.IndexOf('=');
            if (eq <= 0) throw new RecipeException($"--set: '{s}' is not key=value");
            var key = s[..eq].Trim();
            var value = RecipeParser.ParseValueText(s[(eq + 1)..], $"--set {key}");
            if (key == "random_seed")
            {
                seed = value is RecipeValue.Number { Value: >= 0 } n && n.Value == Math.Floor(n.Value)
                    ? (ulong)n.Value
                    : throw new RecipeException("--set random_seed: must be a non-negative integer");
                continue;
            }
            if (key == "sparsity")
            {
                preserveSparsity = RecipeParser.ReadSparsity(value is RecipeValue.Text t ? t.Value : null) ?? throw new RecipeException("--set " + RecipeParser.SparsityMessage);
                continue;
            }
            global[key] = value;
        }
        var compute = DType.F32;
        DType? output = null;
        if (computeDType is not null)
        {
            if (!DTypeNames.TryParseCompute(computeDType, out compute))
                throw new RecipeException($"--dtype: '{computeDType}' is not a compute dtype (float32 or float64)");
        }
        if (outDType is not null)
        {
            if (!DTypeNames.TryParseOutput(outDType, out var o))
                throw new RecipeException($"--out-dtype: '{outDType}' is not one of {DTypeNames.OutputChoices}");
            output = o;
        }
        return new Recipe
        {
            MergeMethod = method,
            BaseModel = basePath is null ? null : Model(basePath, "--base", new Dictionary<string, RecipeValue>()),
            Models = list,
            Parameters = global,
            ComputeDType = compute,
            OutDType = output,
            RandomSeed = seed,
            AllowMissingFromBase = allowMissing,
            PreserveSparsity = preserveSparsity,
        };
    }

    static RecipeModel Model(string spelled, string option, Dictionary<string, RecipeValue> parameters)
    {
        var full = Path.GetFullPath(spelled);
        if (!File.Exists(full) && !Directory.Exists(full))
            throw new RecipeException($"{option}: model path '{spelled}' does not exist");
        return new RecipeModel(full, spelled, parameters);
    }
}
