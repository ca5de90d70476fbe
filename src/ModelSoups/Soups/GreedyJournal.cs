using System.Globalization;
using System.Text.Json.Nodes;
using ModelSoups.Durability;
using ModelSoups.Engine;
using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>
/// The greedy soup's evaluations, resumable: a <see cref="Journal"/> in the work folder whose fingerprint is the
/// command's <see cref="JournalFingerprint"/> and whose entries are finished evaluations keyed by
/// <see cref="GreedySoup.IngredientKey"/>, <see cref="GreedySoup.SoupKey"/>, <see cref="GreedySoupRun.UniformKey"/> or
/// <see cref="GreedySoupRun.EnsembleKey"/>, each <c>{"score": …, "metrics": {…}}</c>. Every entry is validated on
/// read (a known kind of key, ingredient indices in range, finite numbers) so an edited or damaged journal cannot
/// change the soup. Logits are not journaled.
/// </summary>
public sealed class GreedyJournal : IEvaluationStore, IDisposable
{
    /// <summary>The journal's file name inside the work folder.</summary>
    public const string FileName = "journal.jsonl";

    readonly Journal _journal;

    GreedyJournal(Journal journal) => _journal = journal;

    /// <summary>The journal file.</summary>
    public string Path => _journal.Path;

    /// <summary>Evaluations found in the file when it was opened.</summary>
    public int ReplayableCount => _journal.ReplayableCount;

    /// <summary>What was repaired when opening (a cut-short last line dropped).</summary>
    public IReadOnlyList<string> Notes => _journal.Notes;

    /// <summary>
    /// Opens (or creates) the journal in <paramref name="workFolder"/>. Throws <see cref="ModelSoupsException"/>
    /// when an existing journal was written by a different command, is in use, or is corrupt before its last line.
    /// </summary>
    public static GreedyJournal Open(string workFolder, JournalFingerprint fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        int ingredients = fingerprint.Json["ingredients"] is JsonArray a ? a.Count : 0;
        var path = System.IO.Path.Combine(workFolder, FileName);
        return new GreedyJournal(Journal.Open(path, fingerprint.Json, (key, value) => Validate(key, value, ingredients),
            stored => JournalFingerprint.FromJson(stored).Difference(fingerprint)));
    }

    /// <summary>Why an entry is not a valid evaluation of this command, or null.</summary>
    static string? Validate(string key, JsonObject value, int ingredients)
    {
        if (KeyProblem(key, ingredients) is { } k) return k;
        if (!FiniteNumber(value["score"], out _)) return "the score is missing or not a finite number";
        if (value["metrics"] is { } m)
        {
            if (m is not JsonObject metrics) return "metrics is not an object";
            foreach (var (name, v) in metrics)
                if (!FiniteNumber(v, out _)) return $"metric '{Tensors.PrintableName.Of(name)}' is not a finite number";
        }
        foreach (var (name, _) in value)
            if (name is not ("score" or "metrics" or "time_utc")) return $"unknown field '{Tensors.PrintableName.Of(name)}'";
        return null;
    }

    static string? KeyProblem(string key, int ingredients)
    {
        if (key is GreedySoupRun.UniformKey or GreedySoupRun.EnsembleKey) return null;
        string? indices = key.StartsWith("ingredient:", StringComparison.Ordinal) ? key["ingredient:".Length..]
            : key.StartsWith("soup:", StringComparison.Ordinal) ? key["soup:".Length..] : null;
        if (indices is null) return $"unknown kind of key '{Tensors.PrintableName.Of(key)}'";
        var parts = indices.Split(',');
        if (key[0] == 'i' && parts.Length != 1) return $"key '{key}' names more than one ingredient";
        int previous = -1;
        foreach (var p in parts)
        {
            if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= ingredients || i <= previous)
                return $"key '{Tensors.PrintableName.Of(key)}' does not name ingredients 0..{ingredients - 1} in increasing order";
            previous = i;
        }
        return null;
    }

    static bool FiniteNumber(JsonNode? node, out double value)
    {
        value = double.NaN;
        return node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && v.TryGetValue(out value) && double.IsFinite(value);
    }

    public bool TryGet(string key, out EvaluationResult result)
    {
        if (!_journal.TryGet(key, out var value))
        {
            result = null!;
            return false;
        }
        FiniteNumber(value["score"], out double score);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (value["metrics"] is JsonObject m)
            foreach (var (name, v) in m)
                if (FiniteNumber(v, out double x)) metrics[name] = x;
        result = new EvaluationResult(score, metrics);
        return true;
    }

    public void Add(string key, EvaluationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var metrics = new JsonObject();
        foreach (var (name, value) in result.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal))
            if (double.IsFinite(value)) metrics[name] = value;
        var entry = new JsonObject { ["score"] = result.Score, ["metrics"] = metrics };
        if (CreationTime.Text(omit: false) is { } t) entry["time_utc"] = t;
        _journal.Append(key, entry);
    }

    public void Dispose() => _journal.Dispose();
}
