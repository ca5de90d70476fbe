using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Evaluation;

namespace ModelSoups.Execution;

/// <summary>
/// The result file of an evaluation unit (<c>soup eval MODEL … --result-file FILE</c>):
/// <c>{"score": …, "metrics": {…}}</c>, written atomically, read back strictly (finite numbers only).
/// </summary>
public static class EvaluationResultFile
{
    /// <summary>Writes <paramref name="result"/> to <paramref name="path"/> atomically (metrics sorted by name).</summary>
    public static void Write(string path, EvaluationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var metrics = new JsonObject();
        foreach (var (k, v) in result.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal))
            if (double.IsFinite(v)) metrics[k] = v;
        Durability.AtomicFile.WriteAllText(path, new JsonObject { ["score"] = result.Score, ["metrics"] = metrics }.ToJsonString() + "\n");
    }

    /// <summary>Reads a file written by <see cref="Write"/>.</summary>
    /// <exception cref="ModelSoupsException">It is missing, not JSON, or its numbers are not finite.</exception>
    public static EvaluationResult Read(string path)
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                ?? throw new ModelSoupsException("the evaluation result is not a JSON object.", path);
        }
        catch (JsonException e)
        {
            throw new ModelSoupsException($"the evaluation result is not valid JSON ({e.Message}).", path, e);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelSoupsException("the evaluation result file does not exist.", path, e);
        }
        static bool Finite(JsonNode? n, out double v)
        {
            v = double.NaN;
            return n is JsonValue jv && jv.GetValueKind() == JsonValueKind.Number && jv.TryGetValue(out v) && double.IsFinite(v);
        }
        if (!Finite(obj["score"], out double score)) throw new ModelSoupsException("the evaluation result has no finite score.", path);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (obj["metrics"] is JsonObject m)
            foreach (var (k, v) in m)
                metrics[k] = Finite(v, out double x) ? x : throw new ModelSoupsException($"metric '{Tensors.PrintableName.Of(k)}' of the evaluation result is not a finite number.", path);
        return new EvaluationResult(score, metrics);
    }
}
