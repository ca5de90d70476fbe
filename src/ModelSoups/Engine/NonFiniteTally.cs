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
