using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Reports;

/// <summary>
/// A paired comparison of two models on the same examples of one set (<see cref="Statistics.McNemarTest"/>):
/// their accuracies, the examples only <paramref name="A"/> got right, those only <paramref name="B"/> got right, and the
/// exact two-sided p-value.
/// </summary>
/// <param name="Set"><c>test</c> or <c>shift</c>.</param>
/// <param name="A">Method name of the first model (the greedy soup).</param>
/// <param name="B">Method name of the second model (the best individual).</param>
/// <param name="AAccuracy">Accuracy of A.</param>
/// <param name="BAccuracy">Accuracy of B.</param>
/// <param name="AOnly">Examples A classifies correctly and B does not.</param>
/// <param name="BOnly">Examples B classifies correctly and A does not.</param>
/// <param name="PValue">McNemar's exact p-value.</param>
public sealed record PairedComparison(string Set, string A, string B, double AAccuracy, double BAccuracy, int AOnly, int BOnly, double PValue);

/// <summary>One sweep seed's Table-3 results and its paired tests.</summary>
/// <param name="Seed">Sweep seed.</param>
/// <param name="Results">Rows as the per-seed report shows them.</param>
/// <param name="Paired">Greedy soup vs best individual, on test and on the shift.</param>
public sealed record TextSeedResult(int Seed, DemoResults Results, IReadOnlyList<PairedComparison> Paired);

/// <summary>
/// <c>summary.json</c> of the text demo: every sweep seed's rows and paired tests, the evaluation set sizes (for the
/// Wilson intervals), stage times and settings; plus the aggregation over seeds that the tables and the headline use.
/// </summary>
public sealed record TextDemoSummary
{
    /// <summary>File name in the demo's output folder.</summary>
    public const string FileName = "summary.json";
    /// <summary>Method name of the mean over one sweep's ingredients.</summary>
    public const string IngredientMean = "ingredient_mean";
    /// <summary>Significance level of the headline's "within noise".</summary>
    public const double Alpha = 0.05;

    /// <summary>Per seed, in seed order.</summary>
    public required IReadOnlyList<TextSeedResult> Seeds { get; init; }
    /// <summary>Examples per set: <c>heldout</c>, <c>test</c>, <c>shift</c>.</summary>
    public required IReadOnlyDictionary<string, int> SetSizes { get; init; }
    /// <summary>Wall-clock seconds per stage.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Seconds { get; init; } = [];
    /// <summary>Settings and environment.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Mean and sample standard deviation (NaN for one seed) over seeds of one method on one set.</summary>
    public sealed record Aggregate(string Method, string Set, double Mean, double StdDev, double[] PerSeed);

    /// <summary>The methods of the summary table, in order: the summary rows, then the ingredients' mean.</summary>
    public IReadOnlyList<string> Methods =>
        [.. Seeds[0].Results.Rows.Where(r => !r.IsIngredient).Select(r => r.Method), IngredientMean];

    /// <summary>The aggregate of <paramref name="method"/> on <paramref name="set"/> (<c>heldout</c>, <c>test</c> or <c>shift</c>).</summary>
    public Aggregate Over(string method, string set)
    {
        double Value(DemoResults r)
        {
            static double Pick(DemoRow row, string s) => s switch { "heldout" => row.HeldOut, "test" => row.Test, _ => row.Ood };
            if (method == IngredientMean) return r.Rows.Where(x => x.IsIngredient).Select(x => Pick(x, set)).DefaultIfEmpty(double.NaN).Average();
            return r.Row(method) is { } row ? Pick(row, set) : double.NaN;
        }
        var values = Seeds.Select(s => Value(s.Results)).ToArray();
        double mean = values.Average();
        double sd = values.Length < 2 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
        return new Aggregate(method, set, mean, sd, values);
    }

    /// <summary>
    /// The result in one sentence per set, as measured: greedy soup vs best individual (mean over sweeps and the
    /// difference), how many sweeps the greedy soup was ahead in, and whether McNemar's test finds the difference beyond
    /// noise (p &lt; 0.05 in every sweep, same sign) or not.
    /// </summary>
    public string Headline()
    {
        if (Seeds.All(s => s.Paired.Count == 0) && Seeds.All(s => s.Results.Rows.All(r => double.IsNaN(r.Test))))
            return string.Create(CultureInfo.InvariantCulture, $"A held-out-only settings probe over {Seeds.Count} sweep(s): greedy soup {100 * Over(DemoResults.GreedySoup, "heldout").Mean:0.00} %, " +
                $"uniform soup {100 * Over(DemoResults.UniformSoup, "heldout").Mean:0.00} %, best individual {100 * Over(DemoResults.BestIndividual, "heldout").Mean:0.00} %, ingredients' mean {100 * Over(IngredientMean, "heldout").Mean:0.00} % on held-out; test and shift were not evaluated.");
        var parts = new List<string>();
        foreach (var (set, label) in new[] { ("test", "in-distribution test"), ("shift", "the time shift") })
        {
            var greedy = Over(DemoResults.GreedySoup, set);
            var best = Over(DemoResults.BestIndividual, set);
            var tests = Seeds.SelectMany(s => s.Paired.Where(p => p.Set == set)).ToList();
            int ahead = tests.Count(t => t.AAccuracy > t.BAccuracy), behind = tests.Count(t => t.AAccuracy < t.BAccuracy);
            int significant = tests.Count(t => t.PValue < Alpha);
            double diff = 100 * (greedy.Mean - best.Mean);
            string verdict = tests.Count == 0 ? "no paired test"
                : significant == tests.Count && (ahead == tests.Count || behind == tests.Count)
                    ? $"beyond noise (McNemar p < {Alpha:0.00} in every sweep)"
                    : $"within noise (McNemar p < {Alpha:0.00} in {significant} of {tests.Count} sweep(s); p = {string.Join(", ", tests.Select(t => t.PValue.ToString("0.000", CultureInfo.InvariantCulture)))})";
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"on {label} the greedy soup scores {100 * greedy.Mean:0.00} % vs the best individual model's {100 * best.Mean:0.00} % ({diff:+0.00;-0.00;0.00} points; ahead in {ahead}, behind in {behind}, tied in {tests.Count - ahead - behind} of {tests.Count} sweep(s)): {verdict}"));
        }
        return $"Over {Seeds.Count} sweep(s), " + string.Join("; ", parts) + ".";
    }

    /// <summary>The record as indented JSON.</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["headline"] = Headline(),
            ["set_sizes"] = new JsonObject(SetSizes.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value))),
            ["seeds"] = new JsonArray([.. Seeds.Select(s => (JsonNode)new JsonObject
            {
                ["seed"] = s.Seed,
                ["results"] = JsonNode.Parse(s.Results.ToJson()),
                ["paired"] = new JsonArray([.. s.Paired.Select(p => (JsonNode)new JsonObject
                {
                    ["set"] = p.Set, ["a"] = p.A, ["b"] = p.B, ["a_accuracy"] = p.AAccuracy, ["b_accuracy"] = p.BAccuracy,
                    ["a_only"] = p.AOnly, ["b_only"] = p.BOnly, ["p_value"] = p.PValue,
                })]),
            })]),
            ["seconds"] = new JsonObject(Seconds.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)Math.Round(s.Value, 1)))),
            ["settings"] = new JsonObject(Settings.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value))),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Reads a record written by <see cref="ToJson"/>.</summary>
    public static TextDemoSummary FromJson(string json, string? path = null)
    {
        try
        {
            var root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("not a JSON object");
            var seeds = (root["seeds"] as JsonArray ?? throw new FormatException("no 'seeds' array")).Select(n => new TextSeedResult(
                (int)n!["seed"]!,
                DemoResults.FromJson(n["results"]!.ToJsonString(), path),
                (n["paired"] as JsonArray ?? []).Select(p => new PairedComparison((string)p!["set"]!, (string)p["a"]!, (string)p["b"]!,
                    (double)p["a_accuracy"]!, (double)p["b_accuracy"]!, (int)p["a_only"]!, (int)p["b_only"]!, (double)p["p_value"]!)).ToArray())).ToArray();
            if (seeds.Length == 0) throw new FormatException("no seeds");
            return new TextDemoSummary
            {
                Seeds = seeds,
                SetSizes = (root["set_sizes"] as JsonObject ?? []).ToDictionary(s => s.Key, s => (int)s.Value!, StringComparer.Ordinal),
                Seconds = (root["seconds"] as JsonObject ?? []).Select(s => KeyValuePair.Create(s.Key, (double)s.Value!)).ToArray(),
                Settings = (root["settings"] as JsonObject ?? []).ToDictionary(s => s.Key, s => s.Value?.ToString() ?? "", StringComparer.Ordinal),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or InvalidCastException or NullReferenceException)
        {
            throw new ModelSoupsException($"the text demo results file is malformed ({e.Message}); rerun soup demo to write it again.", path, e);
        }
    }
}
