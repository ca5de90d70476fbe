using System.Globalization;
using ModelSoups.Tensors;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelSoups.Recipes;

/// <summary>
/// Reads a mergekit-compatible recipe (the subset for single-pass merges of whole models:
/// <c>merge_method</c>, <c>base_model</c>, <c>models</c> with <c>parameters</c>, global <c>parameters</c>,
/// <c>dtype</c>, <c>out_dtype</c>). Unknown keys are errors, as in mergekit (pydantic, extra="forbid"),
/// so a typo never silently changes a merge. Relative model paths are relative to the recipe file.
/// </summary>
public static class RecipeParser
{
    static readonly string[] TopLevelKeys =
        ["merge_method", "base_model", "models", "parameters", "dtype", "out_dtype", "random_seed", "allow_missing", "sparsity", "tokenizer_source", "name", "provenance"];

    static readonly string[] ModelKeys = ["model", "parameters"];

    /// <summary>Parses the recipe file at <paramref name="path"/>.</summary>
    public static Recipe ParseFile(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new RecipeException("this is a folder, not a recipe file; give the recipe's .yaml file", path);
        if (!File.Exists(full)) throw new RecipeException("recipe file not found", path);
        string text;
        try { text = File.ReadAllText(full); }
        catch (IOException e) { throw new RecipeException($"cannot read the recipe: {e.Message}", path, e); }
        return Parse(text, full);
    }

    /// <summary>Parses recipe text; relative paths resolve against the folder of <paramref name="sourcePath"/> (or the current folder).</summary>
    public static Recipe Parse(string text, string? sourcePath = null)
    {
        var where = sourcePath ?? "recipe";
        var folder = sourcePath is null ? Directory.GetCurrentDirectory() : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(sourcePath))!;
        YamlMappingNode root;
        YamlDepthLimit.Check(text, where);
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count != 1)
                throw new RecipeException($"expected one YAML document, found {stream.Documents.Count}", where);
            root = stream.Documents[0].RootNode as YamlMappingNode
                ?? throw new RecipeException("the recipe must be a YAML mapping (key: value lines)", where);
        }
        catch (YamlException e)
        {
            throw new RecipeException($"line {e.Start.Line}: invalid YAML: {FirstSentence(e.Message)}", where, e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException && e.Source == "YamlDotNet")
        {
            // YamlDotNet reports some malformed documents this way instead of as YamlException (found by RecipeFuzzTests).
            throw new RecipeException($"invalid YAML: {FirstSentence(e.Message)}", where, e);
        }

        var keys = ReadMapping(root, TopLevelKeys, where, "recipe");
        var method = RequireText(keys, "merge_method", where, root);
        RecipeModel? baseModel = null;
        if (keys.TryGetValue("base_model", out var baseNode))
            baseModel = ReadModelPath(baseNode, folder, where, new Dictionary<string, RecipeValue>());

        if (!keys.TryGetValue("models", out var modelsNode))
            throw new RecipeException("'models' is missing: list the models to merge (each as '- model: PATH')", where);
        if (modelsNode is not YamlSequenceNode seq || seq.Children.Count == 0)
            throw At(modelsNode, where, "'models' must be a non-empty list of '- model: PATH' entries");
        var models = new List<RecipeModel>();
        foreach (var item in seq.Children)
        {
            if (item is YamlScalarNode)
            {
                models.Add(ReadModelPath(item, folder, where, new Dictionary<string, RecipeValue>()));
                continue;
            }
            if (item is not YamlMappingNode m) throw At(item, where, "each entry of 'models' must be '- model: PATH' with optional 'parameters'");
            var mk = ReadMapping(m, ModelKeys, where, "model entry");
            if (!mk.TryGetValue("model", out var pathNode)) throw At(m, where, "a 'models' entry has no 'model: PATH'");
            var parameters = mk.TryGetValue("parameters", out var pn) ? ReadParameters(pn, where) : new Dictionary<string, RecipeValue>();
            models.Add(ReadModelPath(pathNode, folder, where, parameters));
        }

        var global = keys.TryGetValue("parameters", out var gp) ? ReadParameters(gp, where) : new Dictionary<string, RecipeValue>();
        var compute = DType.F32;
        DType? outDType = null;
        if (keys.TryGetValue("dtype", out var dn))
        {
            var d = ReadDType(dn, where, "dtype");
            // mergekit's `dtype` is the dtype it computes in and, by default, writes. We always
            // compute in f32 or wider (accumulating in bf16 loses bits: METHODS.md pitfalls), so a
            // half-precision `dtype` becomes the output dtype and the computation stays f32.
            if (d is DType.F32 or DType.F64) compute = d; else outDType = d;
        }
        if (keys.TryGetValue("out_dtype", out var on)) outDType = ReadDType(on, where, "out_dtype");
        ulong seed = 0;
        if (keys.TryGetValue("random_seed", out var sn)) seed = ReadSeed(sn, where);
        else if (global.TryGetValue("random_seed", out var sv))
        {
            seed = sv is RecipeValue.Number { Value: >= 0 } n && n.Value == Math.Floor(n.Value) && n.Value <= ulong.MaxValue
                ? (ulong)n.Value
                : throw new RecipeException("parameters.random_seed must be a non-negative integer", where);
            global = global.Where(p => p.Key != "random_seed").ToDictionary(p => p.Key, p => p.Value);
        }
        var allowMissing = keys.TryGetValue("allow_missing", out var am) && ReadBool(am, where, "allow_missing");
        bool preserveSparsity = false;
        if (keys.TryGetValue("sparsity", out var sp))
            preserveSparsity = ReadSparsity(sp is YamlScalarNode { Value: { } spv } ? spv : null) ?? throw At(sp, where, SparsityMessage);
        else if (global.TryGetValue("sparsity", out var gsp))
        {
            // Also accepted as a global parameter, so the quick form's --set sparsity=preserve reaches it.
            preserveSparsity = ReadSparsity(gsp is RecipeValue.Text t ? t.Value : null) ?? throw new RecipeException("parameters." + SparsityMessage, where);
            global = global.Where(p => p.Key != "sparsity").ToDictionary(p => p.Key, p => p.Value);
        }
        if (keys.TryGetValue("tokenizer_source", out var ts) && !(ts is YamlScalarNode { Value: "base" }))
            throw At(ts, where, "only 'tokenizer_source: base' is supported (tokenizer files are copied from the base model, else the first model)");

        return new Recipe
        {
            MergeMethod = method,
            BaseModel = baseModel,
            Models = models,
            Parameters = global,
            ComputeDType = compute,
            OutDType = outDType,
            RandomSeed = seed,
            AllowMissingFromBase = allowMissing,
            PreserveSparsity = preserveSparsity,
            SourcePath = sourcePath is null ? null : System.IO.Path.GetFullPath(sourcePath),
            SourceText = text,
        };
    }

    /// <summary>Parses one command-line <c>key=value</c> into a recipe value (number, bool, list or word).</summary>
    public static RecipeValue ParseValueText(string text, string where)
    {
        YamlDepthLimit.Check(text, where);
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count != 1) throw new RecipeException($"cannot read the value '{text}'", where);
            return ReadValue(stream.Documents[0].RootNode, where);
        }
        catch (YamlException e)
        {
            throw new RecipeException($"cannot read the value '{text}': {FirstSentence(e.Message)}", where, e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException && e.Source == "YamlDotNet")
        {
            throw new RecipeException($"cannot read the value '{text}': {FirstSentence(e.Message)}", where, e);
        }
    }

    static Dictionary<string, YamlNode> ReadMapping(YamlMappingNode node, string[] allowed, string where, string what)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in node.Children)
        {
            if (k is not YamlScalarNode { Value: { } key }) throw At(k, where, $"a {what} key must be a plain word");
            if (key == "slices" && what == "recipe")
                throw At(k, where, "'slices' (layer ranges, frankenmerges) is not supported; list whole models under 'models' (layer_swap covers per-layer choices)");
            if (!allowed.Contains(key))
                throw At(k, where, $"unknown key '{key}' in the {what} (known: {string.Join(", ", allowed)})");
            if (!result.TryAdd(key, v)) throw At(k, where, $"the key '{key}' appears twice in the {what}");
        }
        return result;
    }

    static Dictionary<string, RecipeValue> ReadParameters(YamlNode node, string where)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" }) return new Dictionary<string, RecipeValue>();
        if (node is not YamlMappingNode map) throw At(node, where, "'parameters' must be a mapping (name: value)");
        var result = new Dictionary<string, RecipeValue>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } key }) throw At(k, where, "a parameter name must be a plain word");
            if (!result.TryAdd(key, ReadValue(v, where))) throw At(k, where, $"the parameter '{key}' appears twice");
        }
        return result;
    }

    static RecipeValue ReadValue(YamlNode node, string where)
    {
        switch (node)
        {
            case YamlScalarNode s:
                return ReadScalar(s, where);
            case YamlSequenceNode seq when seq.Children.Count == 0:
                throw At(seq, where, "an empty list is not a parameter value");
            case YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode):
                return new RecipeValue.Gradient(seq.Children.Select(c =>
                    ReadScalar((YamlScalarNode)c, where) is RecipeValue.Number n
                        ? n.Value
                        : throw At(c, where, "a gradient (list) must hold only numbers")).ToList());
            case YamlSequenceNode seq:
                var conditions = new List<RecipeValue.Condition>();
                foreach (var c in seq.Children)
                {
                    if (c is not YamlMappingNode m) throw At(c, where, "a conditional parameter is a list of {filter: NAME_PART, value: V}");
                    var kv = ReadMapping(m, ["filter", "value"], where, "conditional parameter");
                    if (!kv.TryGetValue("value", out var vn)) throw At(m, where, "a conditional entry has no 'value'");
                    string? filter = null;
                    if (kv.TryGetValue("filter", out var fn))
                        filter = fn is YamlScalarNode { Value: { Length: > 0 } f } ? f : throw At(fn, where, "'filter' must be a non-empty text");
                    var inner = ReadValue(vn, where);
                    if (inner is RecipeValue.Conditional) throw At(vn, where, "conditional parameters cannot be nested");
                    conditions.Add(new RecipeValue.Condition(filter, inner));
                }
                return new RecipeValue.Conditional(conditions);
            default:
                throw At(node, where, "a parameter value must be a number, true/false, a word, a list of numbers or a list of {filter, value}");
        }
    }

    static RecipeValue ReadScalar(YamlScalarNode s, string where)
    {
        var v = s.Value ?? "";
        if (s.Style is ScalarStyle.Plain)
        {
            if (v is "true" or "True" or "TRUE") return new RecipeValue.Flag(true);
            if (v is "false" or "False" or "FALSE") return new RecipeValue.Flag(false);
            if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            {
                if (!double.IsFinite(d)) throw At(s, where, $"'{v}' is not a finite number");
                return new RecipeValue.Number(d);
            }
            if (v.Length == 0 || v is "~" or "null") throw At(s, where, "a parameter has no value");
            if (v.TrimStart('+', '-').ToLowerInvariant() is ".inf" or ".nan") throw At(s, where, $"'{v}' is not a finite number");
        }
        return new RecipeValue.Text(v);
    }

    static RecipeModel ReadModelPath(YamlNode node, string folder, string where, Dictionary<string, RecipeValue> parameters)
    {
        if (node is not YamlScalarNode { Value: { Length: > 0 } spelled })
            throw At(node, where, "a model must be a path to a Hugging Face folder or a .safetensors file");
        var expanded = spelled.StartsWith("~/", StringComparison.Ordinal)
            ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), spelled[2..])
            : spelled;
        var full = System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(expanded) ? expanded : System.IO.Path.Combine(folder, expanded));
        if (!File.Exists(full) && !Directory.Exists(full))
            throw At(node, where, $"model path '{spelled}' does not exist (looked for {full})");
        return new RecipeModel(full, spelled, parameters);
    }

    static string RequireText(Dictionary<string, YamlNode> keys, string key, string where, YamlNode root)
    {
        if (!keys.TryGetValue(key, out var n)) throw At(root, where, $"'{key}' is missing");
        return n is YamlScalarNode { Value: { Length: > 0 } v } ? v : throw At(n, where, $"'{key}' must be a word");
    }

    static DType ReadDType(YamlNode node, string where, string key)
    {
        if (node is YamlScalarNode { Value: { } v } && DTypes.TryParseUserName(v, out var d) && d is DType.F32 or DType.F64 or DType.BF16 or DType.F16)
            return d;
        throw At(node, where, $"'{key}' must be one of float32, float64, bfloat16, float16");
    }

    static ulong ReadSeed(YamlNode node, string where) =>
        node is YamlScalarNode { Value: { } v } && ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var s)
            ? s
            : throw At(node, where, "'random_seed' must be a non-negative integer");

    static bool ReadBool(YamlNode node, string where, string key) =>
        node is YamlScalarNode { Value: { } v } && bool.TryParse(v, out var b) ? b : throw At(node, where, $"'{key}' must be true or false");

    internal const string SparsityMessage = "sparsity must be 'preserve' (refuse differing masks, keep shared zeros) or 'none'";

    /// <summary>true for <c>preserve</c>, false for <c>none</c>, null otherwise.</summary>
    internal static bool? ReadSparsity(string? value) => value switch { "preserve" => true, "none" => false, _ => null };

    static RecipeException At(YamlNode node, string where, string message) =>
        new($"line {node.Start.Line}: {message}", where);

    static string FirstSentence(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length > 200 ? line[..200] : line;
    }
}
