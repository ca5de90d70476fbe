using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Checkpoints;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tokenizers;

namespace ModelSoups.Engine;

/// <summary>
/// The output's tokenizer for a recipe with <c>tokenizer_source</c>, a <c>tokenizer:</c> block or a
/// <c>chat_template</c> (mergekit <c>tokenizer/build.py</c> and <c>merge.py</c>): the output
/// vocabulary, how each embedding row is gathered from the inputs (<see cref="EmbeddingRows"/>), the
/// tokenizer files to write, and the vocabulary size for config.json. Everything is read and checked
/// when the plan is made.
/// </summary>
public sealed class OutputTokenizer
{
    /// <summary>Tokenizer file names handled here (copied from the tokenizer's source folder, some rewritten).</summary>
    public static readonly string[] FileNames =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json", "vocab.txt", "merges.txt", "added_tokens.json", "chat_template.jinja"];

    /// <summary>Embedding and output-head tensors whose rows follow the vocabulary (mergekit's <c>is_embed</c> weights), by name ending.</summary>
    static readonly string[] EmbeddingEndings =
        ["embed_tokens.weight", "lm_head.weight", "wte.weight", "word_embeddings.weight", "embed_out.weight", "tok_embeddings.weight"];

    readonly Recipe _recipe;
    readonly Dictionary<string, Vocabulary> _vocabularies = new(StringComparer.Ordinal);
    readonly Dictionary<string, EmbeddingRows> _rows = new(StringComparer.Ordinal);

    OutputTokenizer(Recipe recipe) => _recipe = recipe;

    /// <summary>The output vocabulary; null when only the chat template changes.</summary>
    public Vocabulary? Vocabulary { get; private set; }

    /// <summary>Rows of the output embedding (the vocabulary, padded); null when the vocabulary is not rebuilt.</summary>
    public int? RowCount { get; private set; }

    /// <summary>The files to write: name and content.</summary>
    public IReadOnlyList<(string Name, string? CopyFrom, string? Text)> Files { get; private set; } = [];

    /// <summary>A line for the plan.</summary>
    public string Summary { get; private set; } = "";

    /// <summary>True for a tensor whose rows are the vocabulary.</summary>
    public static bool IsEmbedding(string tensorName) => EmbeddingEndings.Any(e => tensorName == e || tensorName.EndsWith("." + e, StringComparison.Ordinal));

    /// <summary>Plans the output tokenizer, or returns null when the recipe has no tokenizer settings.</summary>
    /// <param name="recipe">the recipe.</param>
    /// <param name="inputs">every model whose embeddings are merged, base first when there is one.</param>
    /// <param name="sourceFolder">the folder config and tokenizer files come from by default (base, else first model).</param>
    public static OutputTokenizer? Plan(Recipe recipe, IReadOnlyList<RecipeModel> inputs, string? sourceFolder)
    {
        if (recipe.Tokenizer is not { } spec) return null;
        var t = new OutputTokenizer(recipe);
        string? tokenizerFolder = spec.Kind == TokenizerSourceKind.Model ? spec.Model!.Path : sourceFolder;
        if (spec.Kind is { } kind)
        {
            if (tokenizerFolder is null || !Directory.Exists(tokenizerFolder))
                throw new ModelSoupsException("the tokenizer source must be a model folder (with tokenizer.json)", tokenizerFolder ?? recipe.SourcePath);
            var sourceVocabulary = t.VocabularyOf(tokenizerFolder);
            // Entries appended to the source tokenizer's added_tokens, in output-id order.
            var appended = new List<JsonObject>();
            Vocabulary output;
            if (kind == TokenizerSourceKind.Union)
            {
                var union = VocabularyUnion.Build(sourceVocabulary,
                    [.. inputs.Select(m => m.Path).Where(p => p != tokenizerFolder).Distinct().Select(t.VocabularyOf)]);
                output = union.Vocabulary;
                appended.AddRange(union.NewRegular.Select(PlainAddedToken));
                appended.AddRange(union.NewAdded.Select(e => (JsonObject)e.DeepClone()));
            }
            else
            {
                sourceVocabulary.RequireContiguous();
                output = sourceVocabulary;
            }
            // mergekit adds the tokens named under tokenizer.tokens that the vocabulary lacks.
            var extra = spec.Tokens.Keys.Where(k => output.IdOf(k) < 0).ToList();
            if (extra.Count > 0)
            {
                output = Vocabulary.FromTokens(output.Tokens.Concat(extra), output.Folder);
                appended.AddRange(extra.Select(PlainAddedToken));
            }
            for (int i = 0; i < appended.Count; i++) appended[i]["id"] = output.Count - appended.Count + i;
            t.Vocabulary = output;
            int pad = spec.PadToMultipleOf ?? 1;
            t.RowCount = output.Count % pad == 0 ? output.Count : output.Count + pad - output.Count % pad;
            t.Summary = $"tokenizer   {kind.ToString().ToLowerInvariant()}{(kind == TokenizerSourceKind.Model ? " " + spec.Model!.Spelled : "")}: {output.Count} tokens" +
                (appended.Count > 0 ? $" ({appended.Count} added to {Path.GetFileName(tokenizerFolder)}'s)" : "") +
                (t.RowCount != output.Count ? $", embeddings padded to {t.RowCount} rows" : "");
            t.Files = t.FilesFor(tokenizerFolder, appended);
        }
        else
        {
            t.Summary = "tokenizer   copied from the base (else the first model)";
            t.Files = sourceFolder is null ? [] : t.FilesFor(sourceFolder, []);
        }
        if (spec.ChatTemplate is not null) t.Summary += "; chat template " + DescribeChat(spec.ChatTemplate);
        return t;
    }

    static string DescribeChat(string c) => c == "auto" ? "auto (the one most inputs share)" : c.Contains('{') ? "given in the recipe" : $"'{c}'";

    /// <summary>The row plan for inputs in this order (the base, when <paramref name="hasBase"/>, first).</summary>
    public EmbeddingRows RowsFor(IReadOnlyList<RecipeModel> ordered, bool hasBase)
    {
        var key = string.Join("\n", ordered.Select(m => m.Path)) + (hasBase ? "\nbase" : "");
        if (_rows.TryGetValue(key, out var cached)) return cached;
        var vocabularies = ordered.Select(m => VocabularyOf(m.Path)).ToList();
        var overrides = new Dictionary<string, EmbeddingRows.Override>(StringComparer.Ordinal);
        foreach (var (token, e) in _recipe.Tokenizer!.Tokens)
        {
            if (e.Zero) { overrides[token] = new([], e.Force); continue; }
            int k = ordered.ToList().FindIndex(m => m.Path == e.Model!.Path);
            if (k < 0)
                throw new ModelSoupsException($"tokenizer.tokens.{token}: {e.Model!.Spelled} is not one of the models merged here", _recipe.SourcePath);
            int row = e.SourceTokenId ?? vocabularies[k].IdOf(e.SourceToken ?? token);
            if (row < 0)
                throw new ModelSoupsException($"tokenizer.tokens.{token}: {e.Model!.Spelled} has no token {Tokenizers.Vocabulary.Quote(e.SourceToken ?? token)}", _recipe.SourcePath);
            overrides[token] = new([new EmbeddingRows.SourceRow(k, row)], e.Force);
        }
        var rows = EmbeddingRows.Plan(Vocabulary!, vocabularies, hasBase ? 0 : null, overrides, _recipe.Tokenizer.PadToMultipleOf ?? 1);
        _rows[key] = rows;
        return rows;
    }

    /// <summary>
    /// The merge task of an embedding tensor: its rows gathered per <see cref="RowsFor"/>. Problems
    /// (a missing tensor, a width or row-count mismatch) are added to <paramref name="problems"/>.
    /// </summary>
    internal TensorTask? EmbeddingTask(string outputName, IReadOnlyList<TensorRef?> refs, IReadOnlyList<RecipeModel> ordered, bool hasBase,
        Func<Merging.MergeParameters> parameters, Merging.IMergeMethod method, Tensors.DType? outDType, List<string> problems,
        IReadOnlyList<int>? sourceInputs = null)
    {
        if (refs.Any(r => r is null))
        {
            problems.Add($"{outputName} (missing in {string.Join(", ", ordered.Where((_, i) => refs[i] is null).Select(m => m.Spelled))})");
            return null;
        }
        var first = refs[0]!;
        if (refs.Any(r => r!.Shape.Length != 2 || r.Shape[1] != first.Shape[^1]))
        {
            problems.Add($"{outputName} (shapes {string.Join(" vs ", refs.Select(r => r!.Info.ShapeText).Distinct())}: embeddings must be [vocab, width] with one width)");
            return null;
        }
        for (int k = 0; k < refs.Count; k++)
        {
            var v = VocabularyOf(ordered[k].Path);
            int needed = v.Tokens.Count == 0 ? 0 : v.Ids.Values.Max() + 1;
            if (refs[k]!.Shape[0] < needed)
            {
                problems.Add($"{outputName} ({ordered[k].Spelled} has {refs[k]!.Shape[0]} rows but its tokenizer has ids up to {needed - 1})");
                return null;
            }
        }
        return TensorTask.Merge(method, parameters(), hasBase, outputName, [RowCount!.Value, first.Shape[1]], outDType, first.DType,
            sources: [.. refs.Select(r => r!)], sourceInputs: sourceInputs, rows: RowsFor(ordered, hasBase));
    }

    Vocabulary VocabularyOf(string folder)
    {
        if (_vocabularies.TryGetValue(folder, out var v)) return v;
        if (!Directory.Exists(folder)) throw new ModelSoupsException("a tokenizer merge needs Hugging Face model folders (with tokenizer.json), not single files", folder);
        v = Vocabulary.Read(folder, ConfigVocabSize(folder));
        _vocabularies[folder] = v;
        return v;
    }

    /// <summary>config.json's vocab_size: the rows the model really has (mergekit <c>get_vocab_size</c>); null when absent.</summary>
    static int? ConfigVocabSize(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) is JsonObject o && o["vocab_size"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : null;
        }
        catch (JsonException e)
        {
            throw new ModelSoupsException($"config.json is not valid JSON: {e.Message.Split('\n')[0]}", path, e);
        }
    }

    /// <summary>An added-token entry as transformers' <c>add_tokens</c> writes a plain (not special) token.</summary>
    static JsonObject PlainAddedToken(string token) =>
        new() { ["id"] = 0, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = true, ["special"] = false };

    List<(string, string?, string?)> FilesFor(string folder, IReadOnlyList<JsonObject> added)
    {
        var files = new List<(string, string?, string?)>();
        string? chat = ChatTemplates.Resolve(_recipe.Tokenizer!.ChatTemplate, _recipe.Models.Select(m => m.Path).Prepend(_recipe.BaseModel?.Path)
            .Where(p => p is not null).Select(p => p!).Distinct().ToList(), _recipe.SourcePath);
        foreach (var name in FileNames)
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            if (name == "tokenizer.json" && added.Count > 0)
            {
                var root = Parse(path);
                var list = root["added_tokens"] as JsonArray ?? [];
                root["added_tokens"] = list;
                foreach (var a in added) list.Add(a.DeepClone());
                files.Add((name, null, Write(root)));
            }
            else if (name == "tokenizer_config.json" && (added.Count > 0 || chat is not null))
            {
                var root = Parse(path);
                if (added.Count > 0 && root["added_tokens_decoder"] is JsonObject decoder)
                    foreach (var a in added)
                    {
                        var entry = (JsonObject)a.DeepClone();
                        var key = entry["id"]!.ToString();
                        entry.Remove("id");
                        decoder[key] = entry;
                    }
                if (chat is not null) root["chat_template"] = chat;
                files.Add((name, null, Write(root)));
            }
            else if (name == "added_tokens.json" && added.Count > 0)
            {
                var root = Parse(path);
                foreach (var a in added) root[(string)a["content"]!] = (int)a["id"]!;
                files.Add((name, null, Write(root)));
            }
            else if (name == "chat_template.jinja" && chat is not null) files.Add((name, null, chat));
            else files.Add((name, path, null));
        }
        if (chat is not null && !files.Any(f => f.Item1 == "tokenizer_config.json"))
            files.Add(("tokenizer_config.json", null, Write(new JsonObject { ["chat_template"] = chat })));
        return files;
    }

    static JsonObject Parse(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new ModelSoupsException($"{Path.GetFileName(path)} is not a JSON object", path);
        }
        catch (JsonException e)
        {
            throw new ModelSoupsException($"{Path.GetFileName(path)} is not valid JSON: {e.Message.Split('\n')[0]}", path, e);
        }
    }

    static string Write(JsonObject o) => o.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
}
