using System.Text.Json.Serialization;

namespace ModelSoups.Sparse;

/// <summary>
/// One model of a phase in <c>results.json</c>: <paramref name="Method"/> is <c>imp</c>, <c>ingredient:&lt;name&gt;</c>,
/// <c>sms_uniform</c> or <c>sms_greedy</c>; accuracies as fractions, null where the data has no such split.
/// </summary>
public sealed record SparseRow(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("heldout")] double HeldOut,
    [property: JsonPropertyName("test")] double? Test,
    [property: JsonPropertyName("ood")] double? Ood)
{
    /// <summary>Method names of the non-ingredient rows.</summary>
    public const string Imp = "imp", SmsUniform = "sms_uniform", SmsGreedy = "sms_greedy", IngredientPrefix = "ingredient:";

    /// <summary>A row from scores.</summary>
    public static SparseRow From(string method, SparseScores s) => new(method, s.HeldOut, s.Test, s.Ood);
}
