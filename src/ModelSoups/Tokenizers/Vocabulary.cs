using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Tokenizers;

/// <summary>
/// A model's vocabulary as its Hugging Face <c>tokenizer.json</c> (the "fast" tokenizer file) defines
/// it: the model's token → id table (BPE, WordPiece and WordLevel store a map, Unigram a list whose
/// index is the id) plus the <c>added_tokens</c>. Tokens whose id is at or past the model's
/// <c>vocab_size</c> have no embedding row and are left out, as mergekit does
/// (<c>get_stripped_tokenizer</c>). Nothing from the file is executed.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>The file a vocabulary is read from.</summary>
    public const string FileName = "tokenizer.json";

    readonly Dictionary<string, int> _ids;
    readonly List<string> _byId;

    Vocabulary(Dictionary<string, int> ids, Dictionary<string, JsonObject> added, string folder)
    {
        _ids = ids;
        Added = added;
        Folder = folder;
        _byId = [.. ids.OrderBy(p => p.Value).Select(p => p.Key)];
    }

    /// <summary>The model folder the vocabulary came from.</summary>
    public string Folder { get; }

    /// <summary>Number of tokens.</summary>
    public int Count => _ids.Count;

    /// <summary>Token → id.</summary>
    public IReadOnlyDictionary<string, int> Ids => _ids;

    /// <summary>Tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => _byId;

    /// <summary>The <c>added_tokens</c> entries (special tokens and the like), by content.</summary>
    public IReadOnlyDictionary<string, JsonObject> Added { get; }

    /// <summary>Throws unless the ids are exactly 0 … Count − 1 (a vocabulary the output can be built on).</summary>
    public void RequireContiguous()
    {
        for (int i = 0; i < _byId.Count; i++)
            if (_ids[_byId[i]] != i)
                throw new ModelSoupsException($"tokenizer.json has no token with id {i} (ids run to {_ids[_byId[^1]]}); a merged vocabulary needs ids 0..n-1 without gaps", Path.Combine(Folder, FileName));
    }

    /// <summary>The token's id, or -1 when the vocabulary lacks it.</summary>
    public int IdOf(string token) => _ids.TryGetValue(token, out var id) ? id : -1;

    /// <summary>Builds a vocabulary from tokens in id order (0, 1, 2, …), for tests and unions.</summary>
    public static Vocabulary FromTokens(IEnumerable<string> tokens, string folder = "")
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in tokens) ids.TryAdd(t, ids.Count);
        return new Vocabulary(ids, new Dictionary<string, JsonObject>(StringComparer.Ordinal), folder);
    }

    /// <summary>Reads <c>FOLDER/tokenizer.json</c>, keeping ids below <paramref name="vocabSize"/> (all when null).</summary>
    /// <exception cref="ModelSoupsException">no tokenizer.json, not JSON, or an unknown vocabulary form.</exception>
    public static Vocabulary Read(string folder, int? vocabSize)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new ModelSoupsException(
                "has no tokenizer.json; building a merged vocabulary needs the fast tokenizer file in every input (tokenizer.model or vocab.txt alone are not read)", folder);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new ModelSoupsException("tokenizer.json is not a JSON object", path);
        }
        catch (JsonException e)
        {
            throw new ModelSoupsException($"tokenizer.json is not valid JSON: {e.Message.Split('\n')[0]}", path, e);
        }
        int limit = vocabSize ?? int.MaxValue;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var used = new HashSet<int>();
        void Add(string token, int id)
        {
            if (id < 0) throw new ModelSoupsException($"tokenizer.json gives token {Quote(token)} the negative id {id}", path);
            if (id >= limit) return;
            if (ids.TryGetValue(token, out var had))
            {
                if (had != id) throw new ModelSoupsException($"tokenizer.json gives token {Quote(token)} two ids ({had} and {id})", path);
                return;
            }
            if (!used.Add(id)) throw new ModelSoupsException($"tokenizer.json gives id {id} to two tokens (one is {Quote(token)})", path);
            ids[token] = id;
        }
        var model = root["model"] as JsonObject ?? throw new ModelSoupsException("tokenizer.json has no 'model' object", path);
        switch (model["vocab"])
        {
            case JsonObject map:
                foreach (var (token, id) in map) Add(token, ReadId(id, path, token));
                break;
            case JsonArray list:
                // Unigram: [[piece, score], ...], the id is the position.
                for (int i = 0; i < list.Count; i++)
                    Add(list[i] is JsonArray { Count: >= 1 } e && e[0] is JsonValue v && v.TryGetValue<string>(out var piece)
                        ? piece
                        : throw new ModelSoupsException($"tokenizer.json vocab entry {i} is not [piece, score]", path), i);
                break;
            default:
                throw new ModelSoupsException($"tokenizer.json's model ({model["type"]}) has no vocabulary map or list", path);
        }
        var added = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        if (root["added_tokens"] is JsonArray addedList)
            foreach (var node in addedList)
            {
                if (node is not JsonObject entry || entry["content"] is not JsonValue cv || !cv.TryGetValue<string>(out var content))
                    throw new ModelSoupsException("tokenizer.json has an added_tokens entry without 'content'", path);
                int id = ReadId(entry["id"], path, content);
                if (id >= limit) continue;
                Add(content, id);
                added.TryAdd(content, (JsonObject)entry.DeepClone());
            }
        return new Vocabulary(ids, added, folder);
    }

    static int ReadId(JsonNode? node, string path, string token) =>
        node is JsonValue v && v.TryGetValue<int>(out var id) ? id : throw new ModelSoupsException($"tokenizer.json gives token {Quote(token)} an id that is not a whole number", path);

    /// <summary>A token as messages show it (quoted, control characters escaped).</summary>
    public static string Quote(string token) => JsonSerializer.Serialize(token);
}
