using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>A module's state_dict as a plain name → tensor dictionary (copies), and back into a module.</summary>
public static class StateTensors
{
    /// <summary>Detached copies of every state entry.</summary>
    public static Dictionary<string, Tensor> Of(nn.Module module)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in module.state_dict())
            result[name] = t.detach().clone().DetachFromDisposeScope();
        return result;
    }

    /// <summary>Each entry's shape.</summary>
    public static Dictionary<string, long[]> Shapes(IReadOnlyDictionary<string, Tensor> state) =>
        state.ToDictionary(p => p.Key, p => p.Value.shape, StringComparer.Ordinal);

    /// <summary>Copies <paramref name="state"/> into <paramref name="module"/> (names and shapes must match; dtypes are converted).</summary>
    public static void Into(nn.Module module, IReadOnlyDictionary<string, Tensor> state)
    {
        using var _ = no_grad();
        foreach (var (name, target) in module.state_dict())
        {
            if (!state.TryGetValue(name, out var source))
                throw new InvalidOperationException($"the state has no '{name}'");
            if (!source.shape.SequenceEqual(target.shape))
                throw new InvalidOperationException($"'{name}' is [{string.Join(", ", source.shape)}], the module wants [{string.Join(", ", target.shape)}]");
            target.copy_(source);
        }
    }

    /// <summary>Trainable-parameter count of a state: every tensor except BatchNorm running statistics and counters.</summary>
    public static long ParameterCount(IReadOnlyDictionary<string, Tensor> state) =>
        state.Where(p => !IsStatistic(p.Key)).Sum(p => p.Value.numel());

    /// <summary>True for BatchNorm running_mean / running_var / num_batches_tracked.</summary>
    public static bool IsStatistic(string name) =>
        name.EndsWith(".running_mean", StringComparison.Ordinal) || name.EndsWith(".running_var", StringComparison.Ordinal) ||
        name.EndsWith(".num_batches_tracked", StringComparison.Ordinal);
}
