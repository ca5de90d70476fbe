using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Evaluation;
using ModelSoups.Soups;

namespace ModelSoups.Experiments.Text;

/// <summary>
/// <c>seed-N/work/evaluations.json</c>: per model, its members and its logits on every set (base64 float32, row-major
/// [examples × 2]), so a rerun rebuilds accuracies, the ensemble and the paired tests without evaluating again; per
/// greedy candidate, its held-out score. Rewritten atomically after each evaluation. A cache made for other sets,
/// model or ingredients (its fingerprint differs) is set aside.
/// </summary>
public sealed class TextEvaluationCache : IEvaluationStore
{
    readonly string _path, _fingerprint;
    readonly Dictionary<string, (string[] Members, Dictionary<string, float[]> Logits)> _models = new(StringComparer.Ordinal);
    readonly Dictionary<string, double> _greedy = new(StringComparer.Ordinal);

    /// <summary>Opens (or starts) the cache for evaluations described by <paramref name="fingerprint"/>.</summary>
    public TextEvaluationCache(string path, string fingerprint)
    {
        _path = path; _fingerprint = fingerprint;
        if (!File.Exists(path)) return;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
            if ((string?)root?["fingerprint"] != fingerprint) { Discarded = true; return; }
            foreach (var (key, v) in root!["models"] as JsonObject ?? [])
                _models[key] = ((v!["members"] as JsonArray ?? []).Select(m => (string)m!).ToArray(),
                    (v["logits"] as JsonObject ?? []).ToDictionary(s => s.Key, s => MemoryMarshal.Cast<byte, float>(Convert.FromBase64String((string)s.Value!)).ToArray(), StringComparer.Ordinal));
            foreach (var (key, v) in root["greedy"] as JsonObject ?? []) _greedy[key] = (double)v!;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            Discarded = true;
            _models.Clear(); _greedy.Clear();
        }
    }

    /// <summary>True when an existing file was set aside (other settings or unreadable).</summary>
    public bool Discarded { get; }

    /// <summary>The cached logits per set of <paramref name="key"/> when made from exactly <paramref name="members"/>.</summary>
    public bool TryGet(string key, IReadOnlyList<string> members, out IReadOnlyDictionary<string, float[]> logits)
    {
        logits = default!;
        if (!_models.TryGetValue(key, out var m) || !m.Members.SequenceEqual(members)) return false;
        logits = m.Logits;
        return true;
    }

    /// <summary>Stores a model's logits per set and writes the file.</summary>
    public void Put(string key, IReadOnlyList<string> members, IReadOnlyDictionary<string, float[]> logits)
    {
        _models[key] = ([.. members], logits.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
        Save();
    }

    /// <inheritdoc/>
    bool IEvaluationStore.TryGet(string key, out EvaluationResult result)
    {
        result = default!;
        if (!_greedy.TryGetValue(key, out var score)) return false;
        result = EvaluationResult.FromScore(score);
        return true;
    }

    /// <inheritdoc/>
    void IEvaluationStore.Add(string key, EvaluationResult result)
    {
        _greedy[key] = result.Score;
        Save();
    }

    /// <summary>Records a greedy score known without evaluating (an ingredient's own held-out accuracy).</summary>
    public void Seed(string key, double score) => _greedy.TryAdd(key, score);

    void Save()
    {
        var root = new JsonObject
        {
            ["fingerprint"] = _fingerprint,
            ["models"] = new JsonObject(_models.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)new JsonObject
            {
                ["members"] = new JsonArray([.. m.Value.Members.Select(x => (JsonNode)x)]),
                ["logits"] = new JsonObject(m.Value.Logits.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)Convert.ToBase64String(MemoryMarshal.AsBytes(l.Value.AsSpan()))))),
            }))),
            ["greedy"] = new JsonObject(_greedy.Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Value))),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        File.WriteAllText(_path + ".tmp", root.ToJsonString());
        File.Move(_path + ".tmp", _path, overwrite: true);
    }
}
