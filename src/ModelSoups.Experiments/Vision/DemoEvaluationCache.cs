using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.TorchSharp.Evaluation;

namespace ModelSoups.Experiments.Vision;

/// <summary>
/// <c>work/evaluations.json</c>: the demo's finished evaluations (per model: scores on every set and its members;
/// per greedy candidate: held-out score), rewritten atomically after each one so a rerun replays them. A cache made
/// with other evaluation settings (its fingerprint differs) is set aside and evaluations start over.
/// </summary>
public sealed class DemoEvaluationCache : IEvaluationStore
{
    readonly string _path, _fingerprint;
    readonly Dictionary<string, (ShiftScores Scores, string[] Members)> _models = new(StringComparer.Ordinal);
    readonly Dictionary<string, EvaluationResult> _greedy = new(StringComparer.Ordinal);

    /// <summary>Opens (or starts) the cache at <paramref name="path"/> for evaluations described by <paramref name="fingerprint"/>.</summary>
    public DemoEvaluationCache(string path, string fingerprint)
    {
        _path = path; _fingerprint = fingerprint;
        if (!File.Exists(path)) return;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
            if ((string?)root?["fingerprint"] != fingerprint) { Discarded = true; return; }
            foreach (var (key, v) in root!["models"] as JsonObject ?? [])
            {
                var shifts = (v!["shifts"] as JsonObject ?? []).ToDictionary(s => s.Key, s => (double)s.Value!, StringComparer.Ordinal);
                _models[key] = (new ShiftScores(Num(v["heldout"]), Num(v["test"]), shifts), (v["members"] as JsonArray ?? []).Select(m => (string)m!).ToArray());
            }
            foreach (var (key, v) in root["greedy"] as JsonObject ?? [])
                _greedy[key] = EvaluationResult.FromScore((double)v!);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            Discarded = true;
            _models.Clear(); _greedy.Clear();
        }
    }

    /// <summary>True when an existing cache was unreadable or made with other settings and is being replaced.</summary>
    public bool Discarded { get; }

    /// <summary>The cached scores of model <paramref name="key"/> and its members.</summary>
    public bool TryGet(string key, out ShiftScores scores, out string[] members)
    {
        var found = _models.TryGetValue(key, out var v);
        (scores, members) = found ? v : (null!, []);
        return found;
    }

    /// <summary>Records model <paramref name="key"/>'s scores (without logits) and saves.</summary>
    public void Put(string key, ShiftScores scores, IReadOnlyList<string> members)
    {
        _models[key] = (scores with { Results = null }, members.ToArray());
        Save();
    }

    /// <inheritdoc/>
    public bool TryGet(string key, out EvaluationResult result) => _greedy.TryGetValue(key, out result!);

    /// <inheritdoc/>
    public void Add(string key, EvaluationResult result)
    {
        _greedy[key] = EvaluationResult.FromScore(result.Score);
        Save();
    }

    /// <summary>Sets a greedy entry without saving (e.g. the ingredients' own scores, known from elsewhere).</summary>
    public void Seed(string key, double score) => _greedy[key] = EvaluationResult.FromScore(score);

    void Save()
    {
        static JsonNode? N(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
        var root = new JsonObject
        {
            ["fingerprint"] = _fingerprint,
            ["models"] = new JsonObject([.. _models.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)new JsonObject
            {
                ["heldout"] = N(m.Value.Scores.HeldOut),
                ["test"] = N(m.Value.Scores.Test),
                ["shifts"] = new JsonObject([.. m.Value.Scores.Shifts.Select(s => KeyValuePair.Create(s.Key, N(s.Value)))]),
                ["members"] = new JsonArray([.. m.Value.Members.Select(x => (JsonNode)x)]),
            }))]),
            ["greedy"] = new JsonObject([.. _greedy.Select(g => KeyValuePair.Create(g.Key, N(g.Value.Score)))]),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
        var temp = _path + ".tmp";
        File.WriteAllText(temp, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, _path, overwrite: true);
    }

    static double Num(JsonNode? n) => n is null ? double.NaN : (double)n;
}
