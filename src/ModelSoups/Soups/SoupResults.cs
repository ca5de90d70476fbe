using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Soups;

/// <summary>One evaluated model in <see cref="SoupResults"/>: a score, its metrics, or why it failed.</summary>
public sealed record ScoredModel(string Name, double Score, IReadOnlyDictionary<string, double> Metrics, string? Error = null, string? Path = null);

/// <summary>A baseline row of the Table-3-style comparison (uniform soup, ensemble…); null score when not available.</summary>
public sealed record Baseline(string Name, double? Score, IReadOnlyDictionary<string, double> Metrics, string? Note = null);

/// <summary>
/// The machine-readable record of a greedy soup run (<c>results.json</c> in the output folder): ingredients and
/// scores, the greedy trajectory, the paper's baselines and provenance. <c>soup report</c> regenerates the
/// Markdown and HTML reports from it alone.
/// </summary>
public sealed record SoupResults
{
    /// <summary>File name in the output folder.</summary>
    public const string FileName = "results.json";

    private const string Format = "modelsoups-results";
    private const int Version = 1;

    /// <summary>The accept rule: "ge" (paper) or "gt" (official code).</summary>
    public required string Accept { get; init; }

    /// <summary>The evaluator's description.</summary>
    public required string Evaluator { get; init; }

    /// <summary>Every ingredient, in command-line order.</summary>
    public required IReadOnlyList<ScoredModel> Ingredients { get; init; }

    /// <summary>Ingredient indices, best first.</summary>
    public required IReadOnlyList<int> Ranking { get; init; }

    /// <summary>The greedy steps (step 0: the best ingredient).</summary>
    public required IReadOnlyList<GreedyStep> Trajectory { get; init; }

    /// <summary>Indices of the soup's members, in join order.</summary>
    public required IReadOnlyList<int> Members { get; init; }

    /// <summary>The greedy soup's score.</summary>
    public required double GreedyScore { get; init; }

    /// <summary>Uniform soup, ensemble… (only those asked for).</summary>
    public IReadOnlyList<Baseline> Baselines { get; init; } = [];

    /// <summary>Free-form provenance (tool, created, output folder, base, out dtype, command).</summary>
    public IReadOnlyDictionary<string, string> Provenance { get; init; } = new Dictionary<string, string>();

    /// <summary>The best ingredient (first in the ranking).</summary>
    public ScoredModel BestIngredient => Ingredients[Ranking[0]];

    /// <summary>Builds the record from a greedy result.</summary>
    public static SoupResults From(GreedyResult result, string evaluator, IReadOnlyList<string>? paths = null,
        IReadOnlyList<Baseline>? baselines = null, IReadOnlyDictionary<string, string>? provenance = null) => new()
    {
        Accept = result.Rule == AcceptRule.Greater ? "gt" : "ge",
        Evaluator = evaluator,
        Ingredients = result.Ingredients.Select(i => new ScoredModel(i.Name, i.Score, i.Metrics, i.Error, paths?[i.Index])).ToArray(),
        Ranking = result.Ranking,
        Trajectory = result.Trajectory,
        Members = result.Members,
        GreedyScore = result.SoupScore,
        Baselines = baselines ?? [],
        Provenance = provenance ?? new Dictionary<string, string>(),
    };

    /// <summary>The record as indented JSON (NaN scores as null).</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["format"] = Format,
            ["version"] = Version,
            ["accept"] = Accept,
            ["evaluator"] = Evaluator,
            ["ingredients"] = new JsonArray([.. Ingredients.Select((m, i) => (JsonNode)new JsonObject
            {
                ["index"] = i,
                ["name"] = m.Name,
                ["path"] = m.Path,
                ["score"] = Num(m.Score),
                ["metrics"] = Metrics(m.Metrics),
                ["error"] = m.Error,
            })]),
            ["ranking"] = new JsonArray([.. Ranking.Select(i => (JsonNode)i)]),
            ["trajectory"] = new JsonArray([.. Trajectory.Select(s => (JsonNode)new JsonObject
            {
                ["step"] = s.Step,
                ["ingredient"] = s.Ingredient,
                ["name"] = s.Name,
                ["candidate_score"] = Num(s.CandidateScore),
                ["accepted"] = s.Accepted,
                ["soup_score"] = Num(s.SoupScore),
                ["metrics"] = Metrics(s.Metrics),
                ["error"] = s.Error,
            })]),
            ["members"] = new JsonArray([.. Members.Select(i => (JsonNode)i)]),
            ["greedy_score"] = Num(GreedyScore),
            ["baselines"] = new JsonArray([.. Baselines.Select(b => (JsonNode)new JsonObject
            {
                ["name"] = b.Name,
                ["score"] = b.Score is { } v ? Num(v) : null,
                ["metrics"] = Metrics(b.Metrics),
                ["note"] = b.Note,
            })]),
            ["provenance"] = new JsonObject([.. Provenance.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))]),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Reads a record written by <see cref="ToJson"/>; <paramref name="path"/> names it in errors.</summary>
    public static SoupResults FromJson(string json, string? path = null)
    {
        try
        {
            var root = JsonNode.Parse(json) as JsonObject ?? throw Bad("not a JSON object");
            if ((string?)root["format"] != Format) throw Bad($"not a ModelSoups results file (format is not '{Format}')");
            if ((int?)root["version"] != Version) throw Bad($"version {root["version"]} is not {Version}");
            var ingredients = Arr(root, "ingredients").Select(n => new ScoredModel(
                Str(n, "name"), NumOrNaN(n?["score"]), ReadMetrics(n?["metrics"]), (string?)n?["error"], (string?)n?["path"])).ToArray();
            var ranking = Arr(root, "ranking").Select(n => (int)n!).ToArray();
            var trajectory = Arr(root, "trajectory").Select(n => new GreedyStep(
                (int)n!["step"]!, (int)n["ingredient"]!, Str(n, "name"), NumOrNaN(n["candidate_score"]), (bool)n["accepted"]!,
                NumOrNaN(n["soup_score"]), ReadMetrics(n["metrics"]), (string?)n["error"])).ToArray();
            var members = Arr(root, "members").Select(n => (int)n!).ToArray();
            if (ingredients.Length == 0 || ranking.Length == 0 || members.Length == 0) throw Bad("it lists no ingredients, ranking or members");
            if (ranking.Concat(members).Concat(trajectory.Select(t => t.Ingredient)).Any(i => i < 0 || i >= ingredients.Length))
                throw Bad("an ingredient index is out of range");
            var baselines = root["baselines"] is JsonArray b
                ? b.Select(n => new Baseline(Str(n, "name"), n?["score"] is JsonNode s ? (double)s : null, ReadMetrics(n?["metrics"]), (string?)n?["note"])).ToArray()
                : [];
            var provenance = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root["provenance"] is JsonObject p)
                foreach (var (k, v) in p) provenance[k] = v?.ToString() ?? "";
            return new SoupResults
            {
                Accept = (string?)root["accept"] ?? "ge",
                Evaluator = (string?)root["evaluator"] ?? "",
                Ingredients = ingredients,
                Ranking = ranking,
                Trajectory = trajectory,
                Members = members,
                GreedyScore = NumOrNaN(root["greedy_score"]),
                Baselines = baselines,
                Provenance = provenance,
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException or InvalidCastException)
        {
            throw new ModelSoupsException($"the results file is malformed ({e.Message}); rerun soup greedy to write it again.", path, e);
        }

        ModelSoupsException Bad(string why) => new($"the results file is malformed: {why}.", path);
    }

    private static JsonArray Arr(JsonObject root, string name) =>
        root[name] as JsonArray ?? throw new FormatException($"no '{name}' array");

    private static string Str(JsonNode? n, string name) => (string?)n?[name] ?? throw new FormatException($"an entry has no '{name}'");

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static double NumOrNaN(JsonNode? n) => n is null ? double.NaN : (double)n;

    private static JsonObject Metrics(IReadOnlyDictionary<string, double> metrics) =>
        new([.. metrics.Where(p => double.IsFinite(p.Value)).OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))]);

    private static Dictionary<string, double> ReadMetrics(JsonNode? n)
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        if (n is JsonObject o)
            foreach (var (k, v) in o)
                if (v?.GetValueKind() == JsonValueKind.Number) d[k] = (double)v;
        return d;
    }

    /// <summary>A score for people: 4 decimals, or "—" when missing.</summary>
    public static string FormatScore(double? v) =>
        v is { } x && double.IsFinite(x) ? x.ToString("0.0000", CultureInfo.InvariantCulture) : "—";
}
