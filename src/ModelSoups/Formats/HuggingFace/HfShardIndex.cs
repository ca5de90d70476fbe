using System.Text.Encodings.Web;
using System.Text.Json;

namespace ModelSoups.Formats.HuggingFace;

/// <summary>
/// A <c>model.safetensors.index.json</c>: which shard file holds each tensor, as transformers
/// writes it (<c>{"metadata": {"total_size": N, ...}, "weight_map": {name: file}}</c>).
/// Extra metadata keys are kept and ignored.
/// </summary>
public sealed class HfShardIndex
{
    /// <summary>The file name transformers uses for the index of <c>model.safetensors</c> shards.</summary>
    public const string DefaultFileName = "model.safetensors.index.json";

    /// <summary>Index files end like this (<c>model.safetensors.index.json</c>, <c>diffusion_pytorch_model.safetensors.index.json</c>).</summary>
    public const string FileSuffix = ".safetensors.index.json";

    /// <summary>Tensor name → shard file name (relative to the index's folder).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary><c>metadata.total_size</c> when present: bytes of tensor data.</summary>
    public long? TotalSize { get; }

    /// <summary>Shard file names in order (ordinal), each once.</summary>
    public IReadOnlyList<string> ShardFiles { get; }

    /// <summary>Creates an index.</summary>
    public HfShardIndex(IReadOnlyDictionary<string, string> weightMap, long? totalSize)
    {
        WeightMap = weightMap;
        TotalSize = totalSize;
        ShardFiles = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Reads and validates the JSON shape of an index file (shard files are checked by the checkpoint opener).</summary>
    public static HfShardIndex Read(string path)
    {
        byte[] bytes;
        if (Durability.Posix.Stat(path) is { IsRegularFile: false } st)
            throw new HfCheckpointException(HfCheckpointErrorKind.InvalidIndex, $"the shard index is {st.TypeName}, not a regular file.", path);
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HfCheckpointException(HfCheckpointErrorKind.NotFound, $"cannot read the shard index ({e.Message}).", path, e);
        }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException e)
        {
            throw new HfCheckpointException(HfCheckpointErrorKind.InvalidIndex, $"the shard index is not valid JSON ({e.Message.Split(". ")[0]}).", path, e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Invalid("the shard index is not a JSON object.", path);
            long? total = null;
            if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind != JsonValueKind.Null)
            {
                if (meta.ValueKind != JsonValueKind.Object) throw Invalid("\"metadata\" in the shard index is not an object.", path);
                if (meta.TryGetProperty("total_size", out var ts))
                {
                    // transformers writes an integer; some tools write a float like 1.2e10.
                    if (ts.ValueKind != JsonValueKind.Number || !ts.TryGetDouble(out double d) || d < 0)
                        throw Invalid("\"metadata.total_size\" in the shard index is not a non-negative number.", path);
                    total = ts.TryGetInt64(out long l) ? l : (long)d;
                }
            }
            if (!root.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw Invalid("the shard index has no \"weight_map\" object.", path);
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in wm.EnumerateObject())
            {
                string name, file;
                try
                {
                    name = p.Name;
                    file = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw Invalid($"\"weight_map\" entry '{p.Name}' is not a file name string.", path);
                }
                catch (InvalidOperationException e)
                {
                    // An escaped lone surrogate: System.Text.Json only objects when the string is read.
                    throw new HfCheckpointException(HfCheckpointErrorKind.InvalidIndex, "the shard index has a string with an escaped lone surrogate (invalid Unicode).", path, e);
                }
                if (!map.TryAdd(name, file))
                    throw new HfCheckpointException(HfCheckpointErrorKind.DuplicateTensor, $"the shard index lists tensor '{name}' twice.", path);
            }
            return new HfShardIndex(map, total);
        }
    }

    /// <summary>The index as transformers writes it: sorted keys, indent 2, trailing newline.</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            if (TotalSize is long t) w.WriteNumber("total_size", t);
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var (name, file) in WeightMap.OrderBy(p => p.Key, Safetensors.Utf8Order.Instance))
                w.WriteString(name, file);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray()).ReplaceLineEndings("\n") + "\n";
    }

    static HfCheckpointException Invalid(string message, string path) => new(HfCheckpointErrorKind.InvalidIndex, message, path);
}
