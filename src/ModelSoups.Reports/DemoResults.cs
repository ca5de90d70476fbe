using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Reports;

/// <summary>
/// One row of the demo's Table-3-style comparison (Wortsman et al. 2022): a method, its top-1 accuracies (fractions)
/// on the held-out, test and shifted sets, its members and its inference cost relative to one model.
/// </summary>
/// <param name="Method"><c>ingredient:&lt;name&gt;</c>, <c>best_individual</c>, <c>uniform_soup</c>, <c>greedy_soup</c>, <c>learned_soup</c> or <c>ensemble</c> (other demos may add their own).</param>
/// <param name="HeldOut">Held-out accuracy.</param>
/// <param name="Test">Test (in-distribution) accuracy.</param>
/// <param name="Ood">Mean accuracy over the distribution shifts.</param>
/// <param name="Members">The ingredients the model is made of.</param>
/// <param name="Cost">Inference cost relative to one model (the ensemble: its number of members).</param>
/// <param name="Shifts">Accuracy per shift, by name.</param>
/// <param name="Note">A caveat for readers (e.g. "fitted on the held-out set").</param>
public sealed record DemoRow(string Method, double HeldOut, double Test, double Ood, IReadOnlyList<string> Members, double Cost,
    IReadOnlyDictionary<string, double> Shifts, string? Note = null)
{
    /// <summary>Method-name prefix of an individual ingredient's row.</summary>
    public const string IngredientPrefix = "ingredient:";

    /// <summary>True for an individual ingredient's row.</summary>
    public bool IsIngredient => Method.StartsWith(IngredientPrefix, StringComparison.Ordinal);
}

/// <summary>
/// <c>results.json</c> of <c>soup demo</c>: the comparison rows, the wall time of each stage, the shifts and the
/// settings. Written by the demo, read back by the reports and tests. Accuracies are fractions in [0,1].
/// </summary>
public sealed record DemoResults
{
    /// <summary>File name in the demo's output folder.</summary>
    public const string FileName = "results.json";
    /// <summary>Method names of the summary rows.</summary>
    public const string BestIndividual = "best_individual", UniformSoup = "uniform_soup", GreedySoup = "greedy_soup",
        LearnedSoup = "learned_soup", Ensemble = "ensemble", LinearProbe = "linear_probe";

    /// <summary>Summary rows first (best individual, soups, ensemble, the linear-probed start), then every ingredient.</summary>
    public required IReadOnlyList<DemoRow> Rows { get; init; }
    /// <summary>Wall-clock seconds per stage, in stage order (a stage reused from an earlier run counts only its reuse).</summary>
    public required IReadOnlyList<KeyValuePair<string, double>> Seconds { get; init; }
    /// <summary>Each shift's name and what it does (e.g. "additive Gaussian noise σ = 0.18").</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ShiftDescriptions { get; init; } = [];
    /// <summary>Settings and environment (preset, sizes, architecture, cores), for the report.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>The row of <paramref name="method"/>, or null.</summary>
    public DemoRow? Row(string method) => Rows.FirstOrDefault(r => r.Method == method);

    /// <summary>The record as indented JSON (non-finite numbers as null).</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["rows"] = new JsonArray([.. Rows.Select(r => (JsonNode)new JsonObject
            {
                ["method"] = r.Method,
                ["heldout"] = Num(r.HeldOut),
                ["test"] = Num(r.Test),
                ["ood"] = Num(r.Ood),
                ["members"] = new JsonArray([.. r.Members.Select(m => (JsonNode)m)]),
                ["cost"] = Num(r.Cost),
                ["shifts"] = new JsonObject([.. r.Shifts.Select(s => KeyValuePair.Create(s.Key, Num(s.Value)))]),
                ["note"] = r.Note,
            })]),
            ["seconds"] = new JsonObject([.. Seconds.Select(s => KeyValuePair.Create(s.Key, Num(Math.Round(s.Value, 1))))]),
            ["shifts"] = new JsonObject([.. ShiftDescriptions.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value))]),
            ["settings"] = new JsonObject([.. Settings.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value))]),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Reads a record written by <see cref="ToJson"/>; <paramref name="path"/> names it in errors.</summary>
    public static DemoResults FromJson(string json, string? path = null)
    {
        try
        {
            var root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("not a JSON object");
            var rows = (root["rows"] as JsonArray ?? throw new FormatException("no 'rows' array")).Select(n => new DemoRow(
                (string?)n?["method"] ?? throw new FormatException("a row has no method"),
                NumOrNaN(n!["heldout"]), NumOrNaN(n["test"]), NumOrNaN(n["ood"]),
                (n["members"] as JsonArray ?? []).Select(m => (string)m!).ToArray(),
                NumOrNaN(n["cost"]),
                (n["shifts"] as JsonObject ?? []).ToDictionary(s => s.Key, s => NumOrNaN(s.Value), StringComparer.Ordinal),
                (string?)n["note"])).ToArray();
            return new DemoResults
            {
                Rows = rows,
                Seconds = (root["seconds"] as JsonObject ?? []).Select(s => KeyValuePair.Create(s.Key, NumOrNaN(s.Value))).ToArray(),
                ShiftDescriptions = (root["shifts"] as JsonObject ?? []).Select(s => KeyValuePair.Create(s.Key, s.Value?.ToString() ?? "")).ToArray(),
                Settings = (root["settings"] as JsonObject ?? []).ToDictionary(s => s.Key, s => s.Value?.ToString() ?? "", StringComparer.Ordinal),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or InvalidCastException)
        {
            throw new ModelSoupsException($"the demo results file is malformed ({e.Message}); rerun soup demo to write it again.", path, e);
        }
    }

    /// <summary>A percentage with two decimals ("81.03"), or "—".</summary>
    public static string Percent(double v) => double.IsFinite(v) ? (100 * v).ToString("0.00", CultureInfo.InvariantCulture) : "—";

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static double NumOrNaN(JsonNode? n) => n is null ? double.NaN : (double)n;
}
