using System.Globalization;
using ModelSoups.Tensors;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelSoups.Recipes;

/// <summary>
/// Reads a mergekit-compatible recipe: <c>merge_method</c>, <c>base_model</c>, <c>models</c> with
/// <c>parameters</c> or <c>slices</c> of <c>sources</c> with <c>layer_range</c>, global
/// <c>parameters</c>, <c>dtype</c>, <c>out_dtype</c>; and a file of several <c>---</c> documents with
/// <c>name:</c> (mergekit-multi, see <see cref="ParseChain"/>). Unknown keys are errors, as in mergekit
/// (pydantic, extra="forbid"), so a typo never silently changes a merge. Relative model paths are
/// relative to the recipe file.
/// </summary>
public static class RecipeParser
{
    static readonly string[] TopLevelKeys =
        ["merge_method", "base_model", "models", "slices", "parameters", "dtype", "out_dtype", "compute_dtype", "random_seed", "allow_missing", "sparsity",
         "tokenizer_source", "tokenizer", "chat_template", "name", "provenance", StateDictKeyKey, StripPrefixKey];

    // Ours, not mergekit's (its InputModelDefinition has only model and parameters): how a PyTorch
    // checkpoint is read, the recipe form of --state-dict-key and --strip-prefix.
    const string StateDictKeyKey = "state_dict_key", StripPrefixKey = "strip_prefix";
    static readonly string[] ModelKeys = ["model", "parameters", StateDictKeyKey, StripPrefixKey];
    static readonly string[] SliceKeys = ["sources", "base_model", "parameters", "residual_weight"];
    static readonly string[] SourceKeys = ["model", "layer_range", "parameters", StateDictKeyKey, StripPrefixKey];
    static readonly string[] TokenizerKeys = ["source", "tokens", "pad_to_multiple_of"];
    static readonly string[] TokenKeys = ["source", "force"];
    static readonly string[] TokenSourceKeys = ["kind", "model", "token", "token_id"];

    static readonly IReadOnlyDictionary<string, string> NoReferences = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Parses the recipe file at <paramref name="path"/> (one YAML document).</summary>
    public static Recipe ParseFile(string path) => Parse(ReadText(path), System.IO.Path.GetFullPath(path));

    /// <summary>Parses recipe text (one YAML document); relative paths resolve against the folder of <paramref name="sourcePath"/> (or the current folder).</summary>
    public static Recipe Parse(string text, string? sourcePath = null)
    {
        var where = sourcePath ?? "recipe";
        var documents = LoadDocuments(text, where);
        if (documents.Count != 1)
            throw new RecipeException($"expected one YAML document, found {documents.Count} (a file of several '---' documents with 'name:' is a recipe chain; soup merge runs it)", where);
        return ParseDocument(documents[0], text, sourcePath, NoReferences);
    }

    /// <summary>The number of YAML documents in a recipe file: more than one makes it a chain (<see cref="ParseChain"/>).</summary>
    public static int CountDocuments(string path) => LoadDocuments(ReadText(path), path).Count;

    /// <summary>
    /// Parses a recipe chain (mergekit-multi): several YAML documents, each a recipe with a
    /// <c>name:</c>, at most one without (the final merge). A document may name an earlier
    /// document's <c>name</c> as a model; it then reads that merge's output,
    /// <paramref name="workFolder"/>/NAME. Names must be defined before they are used, so the
    /// file order is a valid run order and cycles cannot occur.
    /// </summary>
    public static IReadOnlyList<Recipe> ParseChain(string path, string workFolder)
    {
        var full = System.IO.Path.GetFullPath(path);
        var text = ReadText(path);
        var documents = LoadDocuments(text, full);
        var references = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new List<Recipe>();
        for (int i = 0; i < documents.Count; i++)
        {
            var doc = documents[i];
            var docText = DocumentText(text, doc);
            var recipe = ParseDocument(doc, docText, full, references);
            if (recipe.Name is null)
            {
                if (i != documents.Count - 1)
                    throw At(doc, full, "only the last document may have no 'name:' (it is the final merge, written to the output folder); name this one");
            }
            else
            {
                if (references.ContainsKey(recipe.Name)) throw At(doc, full, $"the name '{recipe.Name}' is used by two documents");
                if (recipe.Name.Contains('/') || recipe.Name.Contains('\\') || recipe.Name is "." or "..")
                    throw At(doc, full, $"the name '{recipe.Name}' must be a plain folder name (no '/')");
                references[recipe.Name] = System.IO.Path.Combine(System.IO.Path.GetFullPath(workFolder), recipe.Name);
            }
            result.Add(recipe);
        }
        return result;
    }

    static string ReadText(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new RecipeException("this is a folder, not a recipe file; give the recipe's .yaml file", path);
        if (!File.Exists(full)) throw new RecipeException("recipe file not found", path);
        try { return File.ReadAllText(full); }
        catch (IOException e) { throw new RecipeException($"cannot read the recipe: {e.Message}", path, e); }
    }

    static List<YamlMappingNode> LoadDocuments(string text, string where)
    {
        YamlDepthLimit.Check(text, where);
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0) throw new RecipeException("the recipe is empty", where);
            return stream.Documents.Select(d => d.RootNode as YamlMappingNode
                ?? throw new RecipeException($"line {d.RootNode.Start.Line}: a recipe must be a YAML mapping (key: value lines)", where)).ToList();
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
    }

    static string DocumentText(string text, YamlNode root)
    {
        int start = (int)Math.Clamp(root.Start.Index, 0, text.Length);
        int end = (int)Math.Clamp(root.End.Index, start, text.Length);
        return text[start..end];
    }

    static Recipe ParseDocument(YamlMappingNode root, string text, string? sourcePath, IReadOnlyDictionary<string, string> references)
    {
        var where = sourcePath ?? "recipe";
        var folder = sourcePath is null ? Directory.GetCurrentDirectory() : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(sourcePath))!;
        var keys = ReadMapping(root, TopLevelKeys, where, "recipe");
        var method = RequireText(keys, "merge_method", where, root);
        string? name = null;
        if (keys.TryGetValue("name", out var nameNode))
            name = nameNode is YamlScalarNode { Value: { Length: > 0 } nv } ? nv : throw At(nameNode, where, "'name' must be a word");
        RecipeModel? baseModel = null;
        if (keys.TryGetValue("base_model", out var baseNode))
            baseModel = ReadModelPath(baseNode, folder, where, new Dictionary<string, RecipeValue>(), references);

        List<RecipeModel> models;
        List<RecipeSlice>? slices = null;
        if (keys.TryGetValue("slices", out var slicesNode))
        {
            // mergekit MergeConfiguration.validate_inputs: exactly one of models, slices.
            if (keys.ContainsKey("models")) throw At(slicesNode, where, "give either 'models' or 'slices', not both");
            slices = ReadSlices(slicesNode, folder, where, references);
            models = slices.SelectMany(s => s.Sources.Select(x => x.Model).Append(s.BaseModel))
                .Where(m => m is not null).Select(m => m!)
                .DistinctBy(m => m.Path)
                .Select(m => m with { Parameters = new Dictionary<string, RecipeValue>() }).ToList();
        }
        else
        {
            if (!keys.TryGetValue("models", out var modelsNode))
                throw new RecipeException("'models' is missing: list the models to merge (each as '- model: PATH'), or give 'slices'", where);
            models = ReadModels(modelsNode, folder, where, references);
        }

        var global = keys.TryGetValue("parameters", out var gp) ? ReadParameters(gp, where) : new Dictionary<string, RecipeValue>();
        // mergekit: `dtype` is the dtype it computes in and writes (unless `out_dtype` says otherwise).
        // We always compute in f32 or wider (accumulating in bf16 loses bits: METHODS.md pitfalls), so
        // `dtype` sets the output dtype, and the computation is f64 only for dtype float64.
        // `compute_dtype` (ours) chooses the compute dtype alone.
        var compute = DType.F32;
        DType? outDType = null;
        if (keys.TryGetValue("dtype", out var dn))
        {
            var d = ReadDType(dn, where, "dtype");
            if (d == DType.F64) compute = d;
            outDType = d;
        }
        if (keys.TryGetValue("out_dtype", out var on)) outDType = ReadDType(on, where, "out_dtype");
        if (keys.TryGetValue("compute_dtype", out var cn))
        {
            compute = ReadDType(cn, where, "compute_dtype");
            if (compute is not (DType.F32 or DType.F64)) throw At(cn, where, "'compute_dtype' must be float32 or float64");
        }
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
        var tokenizer = ReadTokenizer(keys, folder, where, references);
        ApplyOpenOptions(ReadOpenOptions(keys, where), ref baseModel, ref models, ref slices, where);
        if (slices is not null && allowMissing) throw At(keys["allow_missing"], where, "'allow_missing' applies to 'models' recipes, not to 'slices'");

        return new Recipe
        {
            MergeMethod = method,
            BaseModel = baseModel,
            Models = models,
            Slices = slices,
            Tokenizer = tokenizer,
            Name = name,
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

    static List<RecipeModel> ReadModels(YamlNode modelsNode, string folder, string where, IReadOnlyDictionary<string, string> references)
    {
        if (modelsNode is not YamlSequenceNode seq || seq.Children.Count == 0)
            throw At(modelsNode, where, "'models' must be a non-empty list of '- model: PATH' entries");
        var models = new List<RecipeModel>();
        foreach (var item in seq.Children)
        {
            if (item is YamlScalarNode)
            {
                models.Add(ReadModelPath(item, folder, where, new Dictionary<string, RecipeValue>(), references));
                continue;
            }
            if (item is not YamlMappingNode m) throw At(item, where, "each entry of 'models' must be '- model: PATH' with optional 'parameters'");
            var mk = ReadMapping(m, ModelKeys, where, "model entry");
            if (!mk.TryGetValue("model", out var pathNode)) throw At(m, where, "a 'models' entry has no 'model: PATH'");
            var parameters = mk.TryGetValue("parameters", out var pn) ? ReadParameters(pn, where) : new Dictionary<string, RecipeValue>();
            models.Add(ReadModelPath(pathNode, folder, where, parameters, references) with { Open = ReadOpenOptions(mk, where) });
        }
        return models;
    }

    /// <summary>mergekit's <c>slices:</c> — each <c>{sources: [{model, layer_range: [a, b], parameters}], base_model, parameters}</c>.</summary>
    static List<RecipeSlice> ReadSlices(YamlNode node, string folder, string where, IReadOnlyDictionary<string, string> references)
    {
        if (node is not YamlSequenceNode seq || seq.Children.Count == 0)
            throw At(node, where, "'slices' must be a non-empty list of '- sources: [...]' entries");
        var slices = new List<RecipeSlice>();
        foreach (var item in seq.Children)
        {
            if (item is not YamlMappingNode m) throw At(item, where, "each entry of 'slices' must be a mapping with 'sources'");
            var sk = ReadMapping(m, SliceKeys, where, "slice");
            if (sk.TryGetValue("residual_weight", out var rw))
                throw At(rw, where, "'residual_weight' in a slice is not supported (mergekit declares it but no merge method reads it); remove it");
            if (!sk.TryGetValue("sources", out var sourcesNode) || sourcesNode is not YamlSequenceNode sources || sources.Children.Count == 0)
                throw At(m, where, "a slice needs 'sources': a non-empty list of '- model: PATH' with 'layer_range: [first, end]'");
            var list = new List<RecipeSliceSource>();
            foreach (var src in sources.Children)
            {
                if (src is not YamlMappingNode sm) throw At(src, where, "each source of a slice must be a mapping with 'model' and 'layer_range'");
                var k = ReadMapping(sm, SourceKeys, where, "slice source");
                if (!k.TryGetValue("model", out var pathNode)) throw At(sm, where, "a slice source has no 'model: PATH'");
                if (!k.TryGetValue("layer_range", out var rangeNode)) throw At(sm, where, "a slice source has no 'layer_range: [first, end]'");
                var (start, end) = ReadLayerRange(rangeNode, where);
                var parameters = k.TryGetValue("parameters", out var pn) ? ReadParameters(pn, where) : new Dictionary<string, RecipeValue>();
                list.Add(new RecipeSliceSource(ReadModelPath(pathNode, folder, where, parameters, references) with { Open = ReadOpenOptions(k, where) }, start, end));
            }
            RecipeModel? sliceBase = sk.TryGetValue("base_model", out var bn)
                ? ReadModelPath(bn, folder, where, new Dictionary<string, RecipeValue>(), references)
                : null;
            var sliceParameters = sk.TryGetValue("parameters", out var sp) ? ReadParameters(sp, where) : new Dictionary<string, RecipeValue>();
            slices.Add(new RecipeSlice(list, sliceBase, sliceParameters));
        }
        return slices;
    }

    /// <summary><c>tokenizer_source</c>, the <c>tokenizer:</c> block (mergekit <c>TokenizerConfig</c>) and <c>chat_template</c>.</summary>
    static RecipeTokenizer? ReadTokenizer(Dictionary<string, YamlNode> keys, string folder, string where, IReadOnlyDictionary<string, string> references)
    {
        keys.TryGetValue("tokenizer_source", out var ts);
        keys.TryGetValue("tokenizer", out var tb);
        string? chat = null;
        if (keys.TryGetValue("chat_template", out var ct))
            chat = ct is YamlScalarNode { Value: { Length: > 0 } c } ? c : throw At(ct, where, "'chat_template' must be auto, a template name or a Jinja template text");
        if (ts is null && tb is null) return chat is null ? null : new RecipeTokenizer(null, null, new Dictionary<string, RecipeTokenEmbedding>(), null, chat);
        // mergekit MergeConfiguration.validate_tokenizer.
        if (ts is not null && tb is not null) throw At(tb, where, "give either 'tokenizer_source' or 'tokenizer', not both");
        YamlNode? sourceNode = ts;
        var tokens = new Dictionary<string, RecipeTokenEmbedding>(StringComparer.Ordinal);
        int? pad = null;
        if (tb is not null)
        {
            if (tb is not YamlMappingNode tm) throw At(tb, where, "'tokenizer' must be a mapping with 'source', 'tokens', 'pad_to_multiple_of'");
            var tk = ReadMapping(tm, TokenizerKeys, where, "tokenizer block");
            sourceNode = tk.GetValueOrDefault("source");
            if (tk.TryGetValue("pad_to_multiple_of", out var pn))
                pad = pn is YamlScalarNode { Value: { } pv } && int.TryParse(pv, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p >= 1
                    ? p : throw At(pn, where, "'pad_to_multiple_of' must be a whole number of at least 1");
            if (tk.TryGetValue("tokens", out var tn) && tn is not YamlScalarNode { Value: null or "" or "~" or "null" })
            {
                if (tn is not YamlMappingNode tokensMap) throw At(tn, where, "'tokens' must be a mapping TOKEN: {source: ..., force: ...}");
                foreach (var (k, v) in tokensMap.Children)
                {
                    if (k is not YamlScalarNode { Value: { Length: > 0 } token }) throw At(k, where, "a 'tokens' key must be the token text");
                    if (!tokens.TryAdd(token, ReadTokenEmbedding(v, folder, where, references))) throw At(k, where, $"the token {token} appears twice under 'tokens'");
                }
            }
        }
        TokenizerSourceKind kind = TokenizerSourceKind.Union;   // mergekit TokenizerConfig.source defaults to union
        RecipeModel? model = null;
        if (sourceNode is not null)
        {
            if (sourceNode is not YamlScalarNode { Value: { Length: > 0 } sv }) throw At(sourceNode, where, "the tokenizer source must be union, base or a model path");
            if (sv == "union") kind = TokenizerSourceKind.Union;
            else if (sv == "base") kind = TokenizerSourceKind.Base;
            else
            {
                kind = TokenizerSourceKind.Model;
                model = ReadModelPath(sourceNode, folder, where, new Dictionary<string, RecipeValue>(), references);
            }
        }
        return new RecipeTokenizer(kind, model, tokens, pad, chat);
    }

    static RecipeTokenEmbedding ReadTokenEmbedding(YamlNode node, string folder, string where, IReadOnlyDictionary<string, string> references)
    {
        if (node is not YamlMappingNode m) throw At(node, where, "a 'tokens' entry must be {source: MODEL | {kind: zero} | {kind: model_token, model, token | token_id}, force: BOOL}");
        var k = ReadMapping(m, TokenKeys, where, "tokens entry");
        bool force = k.TryGetValue("force", out var f) && ReadBool(f, where, "force");
        if (!k.TryGetValue("source", out var s)) throw At(m, where, "a 'tokens' entry needs 'source'");
        if (s is YamlScalarNode) return new RecipeTokenEmbedding(ReadModelPath(s, folder, where, new Dictionary<string, RecipeValue>(), references), false, null, null, force);
        if (s is not YamlMappingNode sm) throw At(s, where, "a token 'source' is a model path or {kind: zero} or {kind: model_token, ...}");
        var sk = ReadMapping(sm, TokenSourceKeys, where, "token source");
        var kindText = sk.TryGetValue("kind", out var kn) && kn is YamlScalarNode { Value: { } kv } ? kv : throw At(sm, where, "a token source mapping needs 'kind: zero' or 'kind: model_token'");
        if (kindText == "zero")
        {
            if (sk.Count > 1) throw At(sm, where, "'kind: zero' takes no other keys");
            return new RecipeTokenEmbedding(null, true, null, null, force);
        }
        if (kindText != "model_token") throw At(kn, where, $"unknown token source kind '{kindText}' (known: zero, model_token)");
        if (!sk.TryGetValue("model", out var mn)) throw At(sm, where, "'kind: model_token' needs 'model'");
        string? token = sk.TryGetValue("token", out var tn) ? (tn as YamlScalarNode)?.Value : null;
        int? tokenId = null;
        if (sk.TryGetValue("token_id", out var idn))
            tokenId = idn is YamlScalarNode { Value: { } iv } && int.TryParse(iv, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                ? id : throw At(idn, where, "'token_id' must be a non-negative whole number");
        // mergekit ModelTokenEmbedding.validate_token: exactly one of token, token_id.
        if ((token is null) == (tokenId is null)) throw At(sm, where, "'kind: model_token' needs exactly one of 'token' and 'token_id'");
        return new RecipeTokenEmbedding(ReadModelPath(mn, folder, where, new Dictionary<string, RecipeValue>(), references), false, token, tokenId, force);
    }

    static (int Start, int End) ReadLayerRange(YamlNode node, string where)
    {
        const string Form = "'layer_range' must be [first, end]: two whole numbers, first < end (end is exclusive, as in mergekit)";
        if (node is not YamlSequenceNode { Children.Count: 2 } seq) throw At(node, where, Form);
        int Read(YamlNode n) => n is YamlScalarNode { Value: { } v } && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : throw At(n, where, Form);
        int a = Read(seq.Children[0]), b = Read(seq.Children[1]);
        return a < b ? (a, b) : throw At(node, where, $"{Form}; got [{a}, {b}]");
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
            if (key == "modules" && what == "recipe")
                throw At(k, where, "'modules' (separate merges per module of a multi-part model) is not supported; use 'models' or 'slices'");
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

    /// <summary><c>state_dict_key</c> and <c>strip_prefix</c> of one mapping, or null when it has neither.</summary>
    static Checkpoints.CheckpointOpenOptions? ReadOpenOptions(Dictionary<string, YamlNode> keys, string where)
    {
        string? Text(string key) => !keys.TryGetValue(key, out var n) ? null
            : n is YamlScalarNode { Value: { Length: > 0 } v } && v is not ("~" or "null") ? v
            : throw At(n, where, $"'{key}' must be a non-empty text (e.g. {(key == StateDictKeyKey ? "state_dict" : "module.")})");
        var stateDictKey = Text(StateDictKeyKey);
        var stripPrefix = Text(StripPrefixKey);
        return stateDictKey is null && stripPrefix is null ? null : new() { StateDictKey = stateDictKey, StripPrefix = stripPrefix };
    }

    /// <summary>
    /// Gives every model of the recipe its read options: those of an entry naming its path (so a
    /// <c>base_model</c>, which is a bare path in mergekit, takes them from its entry under
    /// <c>models</c>), each option the entry leaves out from the recipe's top level. Two entries
    /// naming one path with different options are an error: a checkpoint is read one way.
    /// </summary>
    static void ApplyOpenOptions(Checkpoints.CheckpointOpenOptions? topLevel, ref RecipeModel? baseModel, ref List<RecipeModel> models,
        ref List<RecipeSlice>? slices, string where)
    {
        var byPath = new Dictionary<string, Checkpoints.CheckpointOpenOptions>(StringComparer.Ordinal);
        var entries = slices is null ? models : slices.SelectMany(sl => sl.Sources.Select(x => x.Model)).ToList();
        foreach (var m in entries)
        {
            if (m.Open is null) continue;
            if (byPath.TryGetValue(m.Path, out var seen) && seen != m.Open)
                throw new RecipeException($"model '{m.Spelled}' is listed twice with different {StateDictKeyKey}/{StripPrefixKey}; a checkpoint is read one way", where);
            byPath[m.Path] = m.Open;
        }
        if (byPath.Count == 0 && topLevel is null) return;
        RecipeModel Resolve(RecipeModel m)
        {
            var own = byPath.GetValueOrDefault(m.Path);
            if (own is null && topLevel is null) return m;
            return m with
            {
                Open = new()
                {
                    StateDictKey = own?.StateDictKey ?? topLevel?.StateDictKey,
                    StripPrefix = own?.StripPrefix ?? topLevel?.StripPrefix,
                },
            };
        }
        if (baseModel is not null) baseModel = Resolve(baseModel);
        models = models.Select(Resolve).ToList();
        slices = slices?.Select(sl => sl with
        {
            Sources = sl.Sources.Select(x => x with { Model = Resolve(x.Model) }).ToList(),
            BaseModel = sl.BaseModel is null ? null : Resolve(sl.BaseModel),
        }).ToList();
    }

    static RecipeModel ReadModelPath(YamlNode node, string folder, string where, Dictionary<string, RecipeValue> parameters,
        IReadOnlyDictionary<string, string> references)
    {
        if (node is not YamlScalarNode { Value: { Length: > 0 } spelled })
            throw At(node, where, "a model must be a path to a Hugging Face folder or a .safetensors file");
        // A recipe chain: an earlier document's name stands for its output (mergekit-multi patches
        // such references to the intermediate folder), which exists only once that merge has run.
        if (references.TryGetValue(spelled, out var produced)) return new RecipeModel(produced, spelled, parameters);
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
        if (node is YamlScalarNode { Value: { } v } && DTypeNames.TryParseOutput(v, out var d))
            return d;
        throw At(node, where, $"'{key}' must be one of {DTypeNames.OutputChoices}");
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
