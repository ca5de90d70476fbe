using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using ModelSoups.Durability;
using ModelSoups.Evaluation;
using ModelSoups.Soups;
using ModelSoups.TorchSharp.Evaluation;

namespace ModelSoups.Experiments;

/// <summary>
/// A demo's finished evaluations (<c>work/evaluations.jsonl</c>), one <see cref="Journal"/> line each, fsynced as it
/// finishes, so a rerun replays them: per model its members and either its scores on every set (the vision demo) or
/// its logits on every set (the text demo, which rebuilds accuracies, the ensemble and the paired tests from them:
/// float32, row-major [examples × classes], base64); per greedy candidate its held-out score. A cache made with other
/// evaluation settings (its fingerprint differs), or one that is damaged, is set aside (<c>.discarded</c>) and the
/// evaluations start over (<see cref="Journal.OpenOrReplace"/>).
/// </summary>
public sealed class DemoEvaluationCache : IEvaluationStore, IDisposable
{
    const string ModelPrefix = "model:", GreedyPrefix = "greedy:";

    readonly Journal _journal;
    readonly Dictionary<string, Model> _models = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _versions = new(StringComparer.Ordinal);
    readonly Dictionary<string, EvaluationResult> _greedy = new(StringComparer.Ordinal);

    /// <summary>A model's cached evaluation: its members and its scores or its logits per set.</summary>
    sealed record Model(string[] Members, ShiftScores? Scores, IReadOnlyDictionary<string, float[]>? Logits);

    /// <summary>Opens (or starts) the cache at <paramref name="path"/> for evaluations described by <paramref name="fingerprint"/>.</summary>
    public DemoEvaluationCache(string path, string fingerprint)
    {
        _journal = Journal.OpenOrReplace(path, new JsonObject { ["kind"] = "demo-evaluations", ["settings"] = fingerprint }, Validate, out var discarded);
        Discarded = discarded;
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
            int version = int.Parse(rest[(hash + 1)..], CultureInfo.InvariantCulture);
            if (_versions.TryGetValue(name, out var v) && v > version) continue;
            _versions[name] = version;
            var members = (value["members"] as JsonArray ?? []).Select(m => (string)m!).ToArray();
            if (value["logits"] is JsonObject logits)
                _models[name] = new Model(members, null, logits.ToDictionary(s => s.Key, s => FromBase64((string)s.Value!), StringComparer.Ordinal));
            else
            {
                var shifts = (value["shifts"] as JsonObject ?? []).ToDictionary(s => s.Key, s => Num(s.Value), StringComparer.Ordinal);
                _models[name] = new Model(members, new ShiftScores(Num(value["heldout"]), Num(value["test"]), shifts), null);
            }
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
        if (hash < 0 || !int.TryParse(key.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return $"key '{key}' has no version";
        if (value["members"] is not JsonArray members || members.Any(m => m is not JsonValue mv || !mv.TryGetValue(out string? _)))
            return "members is not a list of names";
        if (value["logits"] is { } logits)
        {
            if (logits is not JsonObject sets) return "logits is not an object of sets";
            foreach (var (_, text) in sets)
                if (text is not JsonValue tv || !tv.TryGetValue(out string? b64) || b64.Length % 4 != 0 || !IsBase64OfFloats(b64))
                    return "a set's logits are not base64 float32 values";
            return null;
        }
        if (!NumberOrNull(value["heldout"]) || !NumberOrNull(value["test"])) return "a score is not a finite number";
        if (value["shifts"] is JsonObject shifts && shifts.Any(s => !NumberOrNull(s.Value))) return "a shift score is not a finite number";
        return null;
    }

    static bool IsBase64OfFloats(string b64)
    {
        var bytes = new byte[b64.Length / 4 * 3];
        return Convert.TryFromBase64String(b64, bytes, out int written) && written % sizeof(float) == 0;
    }

    /// <summary>The cached scores of model <paramref name="key"/> and its members (entries written with <see cref="Put(string, ShiftScores, IReadOnlyList{string})"/>).</summary>
    public bool TryGet(string key, out ShiftScores scores, out string[] members)
    {
        bool found = _models.TryGetValue(key, out var m) && m.Scores is not null;
        (scores, members) = found ? (m!.Scores!, m.Members) : (null!, []);
        return found;
    }

    /// <summary>Records model <paramref name="key"/>'s scores (without logits).</summary>
    public void Put(string key, ShiftScores scores, IReadOnlyList<string> members)
    {
        ArgumentNullException.ThrowIfNull(scores);
        static JsonNode? N(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
        Append(key, new JsonObject
        {
            ["heldout"] = N(scores.HeldOut),
            ["test"] = N(scores.Test),
            ["shifts"] = new JsonObject([.. scores.Shifts.Select(s => KeyValuePair.Create(s.Key, N(s.Value)))]),
            ["members"] = Names(members),
        }, new Model([.. members], scores with { Results = null }, null));
    }

    /// <summary>The cached logits per set of <paramref name="key"/> when made from exactly <paramref name="members"/>.</summary>
    public bool TryGet(string key, IReadOnlyList<string> members, out IReadOnlyDictionary<string, float[]> logits)
    {
        bool found = _models.TryGetValue(key, out var m) && m.Logits is not null && m.Members.SequenceEqual(members);
        logits = found ? m!.Logits! : null!;
        return found;
    }

    /// <summary>Records model <paramref name="key"/>'s logits per set.</summary>
    public void Put(string key, IReadOnlyList<string> members, IReadOnlyDictionary<string, float[]> logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var copy = logits.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        Append(key, new JsonObject
        {
            ["members"] = Names(members),
            ["logits"] = new JsonObject(copy.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)Convert.ToBase64String(MemoryMarshal.AsBytes(l.Value.AsSpan()))))),
        }, new Model([.. members], null, copy));
    }

    void Append(string key, JsonObject value, Model model)
    {
        int version = _versions.TryGetValue(key, out var v) ? v + 1 : 0;
        _journal.Append($"{ModelPrefix}{key}#{version}", value);
        _versions[key] = version;
        _models[key] = model;
    }

    /// <inheritdoc/>
    public bool TryGet(string key, out EvaluationResult result) => _greedy.TryGetValue(key, out result!);

    /// <inheritdoc/>
    public void Add(string key, EvaluationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!_journal.Entries.ContainsKey(GreedyPrefix + key) && double.IsFinite(result.Score))
            _journal.Append(GreedyPrefix + key, new JsonObject { ["score"] = result.Score });
        _greedy[key] = EvaluationResult.FromScore(result.Score);
    }

    /// <summary>Sets a greedy entry without saving (e.g. the ingredients' own scores, known from elsewhere).</summary>
    public void Seed(string key, double score) => _greedy[key] = EvaluationResult.FromScore(score);

    static JsonArray Names(IReadOnlyList<string> members) => new([.. members.Select(x => (JsonNode)x)]);

    static float[] FromBase64(string text) => MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(text)).ToArray();

    static double Num(JsonNode? n) => n is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN;

    /// <summary>Closes the journal.</summary>
    public void Dispose() => _journal.Dispose();
}
