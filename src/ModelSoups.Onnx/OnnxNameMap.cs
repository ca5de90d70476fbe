using System.Text.Json;

namespace ModelSoups.Onnx;

/// <summary>
/// Maps checkpoint tensor names to ONNX initializer names, for exports that renamed weights
/// (e.g. PyTorch's folded <c>onnx::Conv_123</c>). Names not in the map are used unchanged.
/// A tensor mapped to nothing is dropped (not substituted), e.g. BatchNorm's <c>num_batches_tracked</c>.
/// File formats: a JSON object <c>{"checkpoint_name": "onnx_name", "dropped": null}</c>, or text with one
/// <c>checkpoint_name onnx_name</c> pair per line (<c>-</c> as the ONNX name drops it; <c>#</c> starts a comment).
/// </summary>
public sealed class OnnxNameMap
{
    private readonly Dictionary<string, string?> _map;

    private OnnxNameMap(Dictionary<string, string?> map) => _map = map;

    /// <summary>The identity map.</summary>
    public static OnnxNameMap Identity { get; } = new(new Dictionary<string, string?>());

    /// <summary>A map from pairs; a null ONNX name drops the tensor.</summary>
    public static OnnxNameMap FromPairs(IEnumerable<KeyValuePair<string, string?>> pairs, string? path = null)
    {
        var map = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs)
            if (!map.TryAdd(k, v))
                throw new ModelSoupsException($"the name map lists checkpoint tensor '{k}' twice.", path);
        var dup = map.Values.Where(v => v is not null).GroupBy(v => v, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            throw new ModelSoupsException($"the name map maps several checkpoint tensors to ONNX initializer '{dup.Key}'.", path);
        return new OnnxNameMap(map);
    }

    /// <summary>Reads a name-map file (JSON object or two-column text).</summary>
    public static OnnxNameMap Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelSoupsException($"cannot read the name map ({e.Message}).", path, e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses name-map text (JSON object or two-column text).</summary>
    public static OnnxNameMap Parse(string text, string? path = null)
    {
        if (text.TrimStart().StartsWith('{'))
        {
            var pairs = new List<KeyValuePair<string, string?>>();
            try
            {
                using var doc = JsonDocument.Parse(text);
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    string? value = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => throw new ModelSoupsException($"the name map's entry for '{p.Name}' must be a string or null.", path),
                    };
                    pairs.Add(new(p.Name, value));
                }
            }
            catch (JsonException e)
            {
                throw new ModelSoupsException($"the name map is not valid JSON ({e.Message}).", path, e);
            }
            return FromPairs(pairs, path);
        }

        var list = new List<KeyValuePair<string, string?>>();
        int lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
                throw new ModelSoupsException($"line {lineNumber} of the name map must be 'checkpoint_name onnx_name', got '{line}'.", path);
            list.Add(new(parts[0], parts[1] == "-" ? null : parts[1]));
        }
        return FromPairs(list, path);
    }

    /// <summary>The ONNX name for a checkpoint tensor; false when the map drops it.</summary>
    public bool TryMap(string checkpointName, out string onnxName)
    {
        if (_map.TryGetValue(checkpointName, out var mapped))
        {
            onnxName = mapped ?? "";
            return mapped is not null;
        }
        onnxName = checkpointName;
        return true;
    }
}
