using System.Collections.Concurrent;
using ModelSoups.Tensors;

namespace ModelSoups.Engine;

/// <summary>
/// The non-finite values (NaN, ±Inf) one merge met, counted by the workers as they go: per input and tensor
/// (reported as notes: they came in with the inputs) and per output tensor where the merge itself made them
/// (an error unless allowed: an overflow or a NaN spread over a whole tensor must not pass silently).
/// </summary>
internal sealed class NonFiniteTally
{
    readonly ConcurrentDictionary<(int Input, string Tensor), long> _inputs = new();
    readonly ConcurrentDictionary<string, long> _made = new(StringComparer.Ordinal);

    /// <summary>Output tensor → non-finite values the merge made there.</summary>
    public IReadOnlyDictionary<string, long> NewInOutput => _made.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    public void AddInput(int input, string tensor, long count) => _inputs.AddOrUpdate((input, tensor), count, (_, c) => c + count);

    public void AddOutput(string tensor, long made)
    {
        if (made > 0) _made.AddOrUpdate(tensor, made, (_, c) => c + made);
    }

    /// <summary>Non-finite values the merge made (not in the inputs) are refused unless <paramref name="allowed"/>, naming the worst tensors.</summary>
    public void RefuseMadeValues(MergePlan plan, bool allowed)
    {
        var made = NewInOutput;
        if (made.Count == 0 || allowed) return;
        var worst = made.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        throw new ModelSoupsException(
            $"the merge produced {worst.Sum(p => p.Value):N0} non-finite value(s) (NaN or ±Inf) that are not in the inputs, in {worst.Count} tensor(s): " +
            string.Join(", ", worst.Take(10).Select(p => $"{PrintableName.Of(p.Key)} ({p.Value:N0})")) + (worst.Count > 10 ? ", …" : "") +
            ". Nothing was written; check the weights and parameters (an overflow?), or pass --allow-nonfinite to keep them.", plan.Recipe.SourcePath);
    }

    /// <summary>With <c>--allow-nonfinite</c>: one note on the non-finite values the merge made and kept.</summary>
    public IEnumerable<string> AllowedOutputNotes(bool allowed)
    {
        var made = NewInOutput;
        if (!allowed || made.Count == 0) yield break;
        yield return $"the output has {made.Values.Sum():N0} non-finite value(s) not in the inputs (--allow-nonfinite), in: " +
            string.Join(", ", made.Keys.Order(StringComparer.Ordinal).Take(10).Select(PrintableName.Of)) + ".";
    }

    /// <summary>One note per input that holds non-finite values, naming the tensors and counts.</summary>
    public IEnumerable<string> InputNotes(MergePlan plan)
    {
        foreach (var group in _inputs.GroupBy(p => p.Key.Input).OrderBy(g => g.Key))
        {
            var tensors = group.OrderBy(p => p.Key.Tensor, StringComparer.Ordinal).ToList();
            yield return $"input {plan.InputModels[group.Key].Spelled} holds {tensors.Sum(p => p.Value):N0} non-finite value(s) (NaN or ±Inf): " +
                string.Join(", ", tensors.Take(10).Select(p => $"{PrintableName.Of(p.Key.Tensor)} ({p.Value:N0})")) + (tensors.Count > 10 ? ", …" : "") + ".";
        }
    }
}
