using System.Text.Json.Nodes;
using ModelSoups.Durability;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.TorchSharp.Evaluation;

namespace ModelSoups.Experiments.Vision;

/// <summary>
/// <c>work/evaluations.jsonl</c>: the demo's finished evaluations (per model: scores on every set and its members;
/// per greedy candidate: held-out score), one <see cref="Journal"/> line each, fsynced as it finishes, so a rerun
/// replays them. A cache made with other evaluation settings (its fingerprint differs), or one that is damaged, is
/// set aside (renamed to <c>.discarded</c>) and evaluations start over.
/// </summary>
public sealed class DemoEvaluationCache : IEvaluationStore, IDisposable
{
    const string ModelPrefix = "model:", GreedyPrefix = "greedy:";

    readonly Journal _journal;
    readonly Dictionary<string, (ShiftScores Scores, string[] Members)> _models = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _versions = new(StringComparer.Ordinal);
    readonly Dictionary<string, EvaluationResult> _greedy = new(StringComparer.Ordinal);

    /// <summary>Opens (or starts) the cache at <paramref name="path"/> for evaluations described by <paramref name="fingerprint"/>.</summary>
    public DemoEvaluationCache(string path, string fingerprint)
    {
        var fp = new JsonObject { ["kind"] = "demo-evaluations", ["settings"] = fingerprint };
        try
        {
            _journal = Journal.Open(path, fp, Validate);
        }
        catch (ModelSoupsException e) when (File.Exists(path) && !e.Message.Contains("in use by another", StringComparison.Ordinal))
        {
            File.Move(path, path + ".discarded", overwrite: true);
            Discarded = true;
            _journal = Journal.Open(path, fp, Validate);
        }
        foreach (var (key, value) in _journal.Entries)
        {
            if (key.StartsWith(GreedyPrefix, StringComparison.Ordinal))
            {
                _greedy[key[GreedyPrefix.Length..]] = EvaluationResult.FromScore(Num(value["score"]));
                continue;
            }
            // model:KEY#VERSION — a model evaluated again (other members) gets a new version; the highest wins.
            var rest = key[ModelPrefix.Length..];
            int hash = rest.LastIndexOf('#');
            var name = rest[..hash];
            int version = int.Parse(rest[(hash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            if (_versions.TryGetValue(name, out var v) && v > version) continue;
            _versions[name] = version;
            var shifts = (value["shifts"] as JsonObject ?? []).ToDictionary(s => s.Key, s => Num(s.Value), StringComparer.Ordinal);
            _models[name] = (new ShiftScores(Num(value["heldout"]), Num(value["test"]), shifts),
                (value["members"] as JsonArray ?? []).Select(m => (string)m!).ToArray());
        }
    }

    /// <summary>True when an existing cache was unreadable or made with other settings and is being replaced.</summary>
    public bool Discarded { get; }

    static string? Validate(string key, JsonObject value)
    {
        static bool NumberOrNull(JsonNode? n) => n is null || (n is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d));
        if (key.StartsWith(GreedyPrefix, StringComparison.Ordinal))
            return value["score"] is JsonValue s && s.TryGetValue(out double d) && double.IsFinite(d) ? null : "the score is not a finite number";
        if (!key.StartsWith(ModelPrefix, StringComparison.Ordinal)) return $"unknown kind of key '{key}'";
        int hash = key.LastIndexOf('#');
        if (hash < 0 || !int.TryParse(key.AsSpan(hash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            return $"key '{key}' has no version";
        if (!NumberOrNull(value["heldout"]) || !NumberOrNull(value["test"])) return "a score is not a finite number";
        if (value["shifts"] is JsonObject shifts && shifts.Any(s => !NumberOrNull(s.Value))) return "a shift score is not a finite number";
        if (value["members"] is not JsonArray members || members.Any(m => m is not JsonValue mv || !mv.TryGetValue(out string? _)))
            return "members is not a list of names";
        return null;
    }

    /// <summary>The cached scores of model <paramref name="key"/> and its members.</summary>
    public bool TryGet(string key, out ShiftScores scores, out string[] members)
    {
        var found = _models.TryGetValue(key, out var v);
        (scores, members) = found ? v : (null!, []);
        return found;
    }

    /// <summary>Records model <paramref name="key"/>'s scores (without logits).</summary>
    public void Put(string key, ShiftScores scores, IReadOnlyList<string> members)
    {
        static JsonNode? N(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
        int version = _versions.TryGetValue(key, out var v) ? v + 1 : 0;
        _journal.Append($"{ModelPrefix}{key}#{version}", new JsonObject
        {
            ["heldout"] = N(scores.HeldOut),
            ["test"] = N(scores.Test),
            ["shifts"] = new JsonObject([.. scores.Shifts.Select(s => KeyValuePair.Create(s.Key, N(s.Value)))]),
            ["members"] = new JsonArray([.. members.Select(x => (JsonNode)x)]),
        });
        _versions[key] = version;
        _models[key] = (scores with { Results = null }, members.ToArray());
    }

    /// <inheritdoc/>
    public bool TryGet(string key, out EvaluationResult result) => _greedy.TryGetValue(key, out result!);

    /// <inheritdoc/>
    public void Add(string key, EvaluationResult result)
    {
        if (!_journal.Entries.ContainsKey(GreedyPrefix + key) && double.IsFinite(result.Score))
            _journal.Append(GreedyPrefix + key, new JsonObject { ["score"] = result.Score });
        _greedy[key] = EvaluationResult.FromScore(result.Score);
    }

    /// <summary>Sets a greedy entry without saving (e.g. the ingredients' own scores, known from elsewhere).</summary>
    public void Seed(string key, double score) => _greedy[key] = EvaluationResult.FromScore(score);

    static double Num(JsonNode? n) => n is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN;

    /// <summary>Closes the journal.</summary>
    public void Dispose() => _journal.Dispose();
}
