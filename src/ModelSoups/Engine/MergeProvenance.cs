using ModelSoups.Recipes;

namespace ModelSoups.Engine;

/// <summary>
/// What a merge records about itself: the tool, the creation time, the caller's extra provenance, and the recipe as
/// YAML with the SHA-256 of every input file — in the safetensors headers (<c>__metadata__</c>) and in
/// <c>soup-recipe.yaml</c>. The headers are written first with same-length placeholders for the hashes (the inputs
/// are hashed while the merge runs), then rewritten with the hashes (<see cref="WithHashes"/>).
/// </summary>
internal sealed class MergeProvenance
{
    readonly MergePlan _plan;
    readonly Dictionary<string, object> _values;

    MergeProvenance(MergePlan plan, Dictionary<string, object> values, string recipeYaml)
    {
        _plan = plan;
        _values = values;
        RecipeYaml = recipeYaml;
    }

    /// <summary>"ModelSoups X.Y.Z".</summary>
    public string Tool => (string)_values["tool"];

    /// <summary>The recipe as written beside the weights (with placeholders until <see cref="WithHashes"/>).</summary>
    public string RecipeYaml { get; private set; }

    /// <summary>The safetensors <c>__metadata__</c> of every shard.</summary>
    public Dictionary<string, string> Metadata => new()
    {
        ["format"] = "pt",
        ["soup_method"] = _plan.Method.Name,
        ["soup_recipe"] = RecipeYaml,
    };

    /// <summary>The provenance of a merge of <paramref name="plan"/>; <paramref name="placeholders"/> stand in for hashes still to come.</summary>
    public static MergeProvenance Create(MergePlan plan, MergeOptions options, IReadOnlyList<RecipeWriter.InputFile>? placeholders)
    {
        var values = new Dictionary<string, object>
        {
            ["tool"] = "ModelSoups " + (typeof(MergeEngine).Assembly.GetName().Version?.ToString(3) ?? "0"),
        };
        if (CreationTime.Text(options.NoTimestamp) is { } created) values["created"] = created;
        foreach (var (k, v) in options.Provenance ?? new Dictionary<string, object>()) values[k] = v;
        return new MergeProvenance(plan, values, RecipeWriter.ToYaml(plan.Recipe, placeholders, values));
    }

    /// <summary>Puts the inputs' hashes into the recipe (the metadata follows).</summary>
    public void WithHashes(IReadOnlyList<RecipeWriter.InputFile> hashes) => RecipeYaml = RecipeWriter.ToYaml(_plan.Recipe, hashes, _values);
}
