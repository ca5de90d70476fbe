using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Soups;

/// <summary>
/// In-process soups over TorchSharp modules of one architecture (Wortsman et al. 2022, uniform soup:
/// θ = (1/k) Σ θ_i). Float tensors are averaged in f32 (f64 stays f64); integer buffers such as
/// BatchNorm's num_batches_tracked are copied from the first ingredient, as the paper's reference code
/// has no integer tensors to average and averaging counters is meaningless. BatchNorm running statistics
/// are averaged like any float buffer; recalibrate them afterwards when the method calls for it.
/// </summary>
public static class ModuleSoup
{
    /// <summary>Writes the uniform average of <paramref name="ingredients"/> into <paramref name="target"/> (which may be one of them).</summary>
    public static void Uniform(nn.Module target, IReadOnlyList<nn.Module> ingredients)
    {
        if (ingredients.Count == 0) throw new ArgumentException("a soup needs at least one ingredient", nameof(ingredients));
        var weights = Enumerable.Repeat(1.0 / ingredients.Count, ingredients.Count).ToArray();
        Weighted(target, ingredients, weights);
    }

    /// <summary>Writes Σ w_i θ_i into <paramref name="target"/> for float tensors; integer tensors come from the first ingredient.</summary>
    public static void Weighted(nn.Module target, IReadOnlyList<nn.Module> ingredients, IReadOnlyList<double> weights)
    {
        if (ingredients.Count == 0) throw new ArgumentException("a soup needs at least one ingredient", nameof(ingredients));
        if (weights.Count != ingredients.Count) throw new ArgumentException("one weight per ingredient is needed", nameof(weights));
        var targetState = target.state_dict();
        var states = ingredients.Select(m => m.state_dict()).ToList();
        foreach (var (s, i) in states.Select((s, i) => (s, i)))
        {
            if (s.Count != targetState.Count || s.Keys.Any(k => !targetState.ContainsKey(k)))
                throw new ArgumentException($"ingredient {i} has different tensor names than the target");
        }
        using var _ = no_grad();
        // Compute every average before writing any, so the target may be one of the ingredients.
        var results = new List<(Tensor Target, Tensor Value)>();
        try
        {
            foreach (var (name, t) in targetState)
            {
                if (!t.is_floating_point())
                {
                    using (var scope = NewDisposeScope())
                        results.Add((t, states[0][name].detach().clone().DetachFromDisposeScope()));
                    continue;
                }
                var accType = t.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
                // Detached from any caller's scope: the finally below owns it.
                var acc = zeros(t.shape, accType, t.device).DetachFromDisposeScope();
                for (int i = 0; i < states.Count; i++)
                {
                    var x = states[i][name];
                    if (!x.shape.SequenceEqual(t.shape)) throw new ArgumentException($"tensor '{name}' differs in shape between ingredients");
                    // An explicit Scalar kept alive by `using`: the implicit double → Scalar conversion is left to the finalizer,
                    // which can free it while libtorch still reads it ("Unknown scalar type"; dotnet/TorchSharp#1434).
                    using var scope = NewDisposeScope();
                    using var weight = weights[i].ToScalar();
                    acc.add_(x.detach().to(accType), weight);
                }
                results.Add((t, acc));
            }
            foreach (var (t, value) in results) t.copy_(value);
        }
        finally
        {
            foreach (var (_, value) in results) value.Dispose();
        }
    }
}
