using System.Globalization;
using System.Text.Json;

namespace ModelSoups.Evaluation;

/// <summary>
/// Reads an evaluation command's verdict from its last non-empty stdout line: either a bare number
/// (the score) or a JSON object <c>{"score": 0.81, "metrics": {"top5": 0.95}}</c>. With a metric name
/// the score is <c>metrics.NAME</c> (or top-level NAME); "metrics.NAME" and "NAME" are both accepted.
/// </summary>
public static class CommandOutput
{
    /// <summary>Parses <paramref name="line"/>; throws <see cref="EvaluationException"/> naming the candidate when it cannot.</summary>
    public static EvaluationResult Parse(string line, string? metric, string candidate)
    {
        var text = line.Trim();
        if (text.Length == 0)
            throw new EvaluationException(candidate, $"the evaluation command printed nothing on stdout for candidate '{candidate}'; it must print a score (a number or a JSON object) as its last line.");
        if (text[0] != '{')
        {
            if (metric is not null)
                throw new EvaluationException(candidate, $"the evaluation command printed a bare number for candidate '{candidate}', but metric '{metric}' was asked for; print a JSON object with it.");
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var score))
                throw new EvaluationException(candidate, $"the last line the evaluation command printed for candidate '{candidate}' is neither a number nor a JSON object: '{Shorten(text)}'.");
            RequireFinite(score, "score", candidate);
            return new EvaluationResult(score, new Dictionary<string, double> { ["score"] = score });
        }

        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e)
        {
            throw new EvaluationException(candidate, $"the last line the evaluation command printed for candidate '{candidate}' is not valid JSON ({e.Message}): '{Shorten(text)}'.", inner: e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new EvaluationException(candidate, $"the evaluation command's JSON for candidate '{candidate}' must be an object: '{Shorten(text)}'.");
            var topLevel = new Dictionary<string, double>(StringComparer.Ordinal);
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "metrics" && p.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (var m in p.Value.EnumerateObject())
                        if (m.Value.ValueKind == JsonValueKind.Number) metrics[m.Name] = m.Value.GetDouble();
                }
                else if (p.Value.ValueKind == JsonValueKind.Number)
                {
                    topLevel[p.Name] = p.Value.GetDouble();
                }
            }

            // Metrics seen by callers: the "metrics" object, then top-level numbers not shadowed by it.
            var all = new Dictionary<string, double>(metrics, StringComparer.Ordinal);
            foreach (var (k, v) in topLevel) all.TryAdd(k, v);

            double score;
            if (metric is null)
            {
                if (!topLevel.TryGetValue("score", out score))
                    throw new EvaluationException(candidate, $"the evaluation command's JSON for candidate '{candidate}' has no numeric \"score\"; add one or choose a metric: '{Shorten(text)}'.");
                metric = "score";
            }
            else
            {
                var name = metric.StartsWith("metrics.", StringComparison.Ordinal) ? metric["metrics.".Length..] : metric;
                bool found = metric.StartsWith("metrics.", StringComparison.Ordinal)
                    ? metrics.TryGetValue(name, out score)
                    : metrics.TryGetValue(name, out score) || topLevel.TryGetValue(name, out score);
                if (!found)
                    throw new EvaluationException(candidate, $"the evaluation command's JSON for candidate '{candidate}' has no numeric metric '{metric}' (found: {(all.Count == 0 ? "none" : string.Join(", ", all.Keys))}).");
            }
            RequireFinite(score, metric, candidate);
            return new EvaluationResult(score, all);
        }
    }

    private static void RequireFinite(double value, string what, string candidate)
    {
        if (!double.IsFinite(value))
            throw new EvaluationException(candidate, $"the evaluation command reported a non-finite {what} ({value.ToString(CultureInfo.InvariantCulture)}) for candidate '{candidate}'.");
    }

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
