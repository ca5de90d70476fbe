using ModelSoups.Tensors;
using YamlDotNet.Serialization;

namespace ModelSoups.Recipes;

/// <summary>
/// Writes a <see cref="Recipe"/> back as YAML that <see cref="RecipeParser"/> (and, without the
/// <c>provenance</c> block, mergekit) reads again: the record of a merge is itself a runnable recipe.
/// </summary>
public static class RecipeWriter
{
    /// <summary>One input file's identity, recorded for provenance.</summary>
    public sealed record InputFile(string Path, long Bytes, string Sha256);

    /// <summary>The recipe as YAML, model paths absolute, with an optional provenance block.</summary>
    public static string ToYaml(Recipe recipe, IReadOnlyList<InputFile>? inputs = null, IReadOnlyDictionary<string, object>? extra = null)
    {
        var root = new Dictionary<string, object>
        {
            ["merge_method"] = recipe.MergeMethod,
        };
        if (recipe.BaseModel is { } b) root["base_model"] = b.Path;
        if (recipe.Slices is { } slices)
            root["slices"] = slices.Select(Slice).ToList();
        else
            root["models"] = recipe.Models.Select(m =>
            {
                var entry = new Dictionary<string, object> { ["model"] = m.Path };
                if (m.Parameters.Count > 0) entry["parameters"] = Values(m.Parameters);
                AddOpenOptions(entry, m);
                return entry;
            }).ToList();
        // A base listed nowhere else got its options from the recipe's top level (RecipeParser.ApplyOpenOptions),
        // where they go back; every entry carries its own explicitly, so they do not change the entries' reading.
        var entries = recipe.Slices is { } sl ? sl.SelectMany(x => x.Sources.Select(s => s.Model)) : recipe.Models;
        var bases = (recipe.Slices?.Select(x => x.BaseModel) ?? []).Append(recipe.BaseModel);
        if (bases.FirstOrDefault(b => b?.Open is not null && !entries.Any(e => e.Path == b.Path)) is { } lone)
            AddOpenOptions(root, lone);
        if (recipe.Parameters.Count > 0) root["parameters"] = Values(recipe.Parameters);
        // Spelled so that RecipeParser reads back the same compute and output dtypes, and mergekit
        // (which computes and writes in `dtype` unless `out_dtype` is given) writes the same dtype.
        if (recipe.OutDType is { } o)
        {
            root["dtype"] = recipe.ComputeDType == DType.F64 ? "float64" : o == DType.F64 ? "float32" : Name(o);
            root["out_dtype"] = Name(o);
        }
        else if (recipe.ComputeDType != DType.F32) root["compute_dtype"] = Name(recipe.ComputeDType);
        if (recipe.RandomSeed != 0) root["random_seed"] = recipe.RandomSeed;
        if (recipe.AllowMissingFromBase) root["allow_missing"] = true;
        if (recipe.PreserveSparsity) root["sparsity"] = "preserve";
        if (recipe.Tokenizer is { } tok)
        {
            if (tok.Kind is { } kind)
            {
                var source = kind switch { TokenizerSourceKind.Union => "union", TokenizerSourceKind.Base => "base", _ => tok.Model!.Path };
                if (tok.Tokens.Count == 0 && tok.PadToMultipleOf is null) root["tokenizer_source"] = source;
                else
                {
                    var block = new Dictionary<string, object> { ["source"] = source };
                    if (tok.Tokens.Count > 0) block["tokens"] = tok.Tokens.ToDictionary(p => p.Key, p => (object)Token(p.Value));
                    if (tok.PadToMultipleOf is { } pad) block["pad_to_multiple_of"] = pad;
                    root["tokenizer"] = block;
                }
            }
            if (tok.ChatTemplate is { } chat) root["chat_template"] = chat;
        }
        if (inputs is not null || extra is not null)
        {
            var prov = new Dictionary<string, object>();
            foreach (var (k, v) in extra ?? new Dictionary<string, object>()) prov[k] = v;
            if (inputs is not null)
                prov["inputs"] = inputs.Select(f => new Dictionary<string, object> { ["path"] = f.Path, ["bytes"] = f.Bytes, ["sha256"] = f.Sha256 }).ToList();
            root["provenance"] = prov;
        }
        return new SerializerBuilder().DisableAliases().Build().Serialize(root);
    }

    static Dictionary<string, object> Token(RecipeTokenEmbedding t)
    {
        object source = t.Zero
            ? new Dictionary<string, object> { ["kind"] = "zero" }
            : t.SourceToken is null && t.SourceTokenId is null
                ? t.Model!.Path
                : t.SourceToken is { } st
                    ? new Dictionary<string, object> { ["kind"] = "model_token", ["model"] = t.Model!.Path, ["token"] = st }
                    : new Dictionary<string, object> { ["kind"] = "model_token", ["model"] = t.Model!.Path, ["token_id"] = t.SourceTokenId!.Value };
        var entry = new Dictionary<string, object> { ["source"] = source };
        if (t.Force) entry["force"] = true;
        return entry;
    }

    /// <summary>A model entry's <c>state_dict_key</c> / <c>strip_prefix</c>, so the written recipe reads its PyTorch inputs the same way.</summary>
    static void AddOpenOptions(Dictionary<string, object> entry, RecipeModel m)
    {
        if (m.Open?.StateDictKey is { } key) entry["state_dict_key"] = key;
        if (m.Open?.StripPrefix is { } prefix) entry["strip_prefix"] = prefix;
    }

    static Dictionary<string, object> Slice(RecipeSlice slice)
    {
        var entry = new Dictionary<string, object>
        {
            ["sources"] = slice.Sources.Select(s =>
            {
                var source = new Dictionary<string, object> { ["model"] = s.Model.Path, ["layer_range"] = new List<int> { s.Start, s.End } };
                if (s.Model.Parameters.Count > 0) source["parameters"] = Values(s.Model.Parameters);
                AddOpenOptions(source, s.Model);
                return source;
            }).ToList(),
        };
        if (slice.BaseModel is { } b) entry["base_model"] = b.Path;
        if (slice.Parameters.Count > 0) entry["parameters"] = Values(slice.Parameters);
        return entry;
    }

    static Dictionary<string, object> Values(IReadOnlyDictionary<string, RecipeValue> values) =>
        values.ToDictionary(p => p.Key, p => Value(p.Value));

    static object Value(RecipeValue v) => v switch
    {
        RecipeValue.Number n => n.Value,
        RecipeValue.Flag f => f.Value,
        RecipeValue.Text t => t.Value,
        RecipeValue.Gradient g => g.Anchors.ToList(),
        RecipeValue.Conditional c => c.Conditions.Select(x =>
        {
            var d = new Dictionary<string, object>();
            if (x.Filter is not null) d["filter"] = x.Filter;
            d["value"] = Value(x.Value);
            return d;
        }).ToList(),
        _ => throw new ArgumentOutOfRangeException(nameof(v)),
    };

    static string Name(DType t) => DTypeNames.RecipeName(t);
}
