using ModelSoups.Checkpoints;
using ModelSoups.Soups;
using ModelSoups.Tensors;
using ModelSoups.TorchSharp.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Soups;

/// <summary>
/// In-process soups over TorchSharp modules of one architecture (Wortsman et al. 2022, uniform soup:
/// θ = (1/k) Σ θ_i). The modules' states are exported as checkpoints and averaged by <see cref="SoupAccumulator"/>
/// — the arithmetic of <c>soup merge --method linear</c>, not libtorch's — so a module soup equals that
/// command's output of the same ingredients bit for bit (f64 tensors are the one exception: they are averaged
/// in f64 compute, where the command's default f32 compute would round them first). Integer buffers such as
/// BatchNorm's num_batches_tracked follow <see cref="SoupAccumulator.CopySource"/> (the first ingredient):
/// averaging counters is meaningless. BatchNorm running statistics are averaged like any float buffer;
/// recalibrate them afterwards when the method calls for it.
/// </summary>
public static class ModuleSoup
{
    /// <summary>Writes the uniform average of <paramref name="ingredients"/> into <paramref name="target"/> (which may be one of them).</summary>
    public static void Uniform(nn.Module target, IReadOnlyList<nn.Module> ingredients)
    {
        if (ingredients.Count == 0) throw new ArgumentException("a soup needs at least one ingredient", nameof(ingredients));
        Combine(target, ingredients, Enumerable.Repeat(1.0, ingredients.Count).ToArray(), ingredients.Count);
    }

    /// <summary>Writes Σ w_i θ_i into <paramref name="target"/> for float tensors; integer tensors come from the first ingredient.</summary>
    public static void Weighted(nn.Module target, IReadOnlyList<nn.Module> ingredients, IReadOnlyList<double> weights)
    {
        if (ingredients.Count == 0) throw new ArgumentException("a soup needs at least one ingredient", nameof(ingredients));
        if (weights.Count != ingredients.Count) throw new ArgumentException("one weight per ingredient is needed", nameof(weights));
        Combine(target, ingredients, weights, 1.0);
    }

    /// <summary>Σ w_i θ_i / divisor of every float tensor, computed in full before the target is written (it may be an ingredient).</summary>
    static void Combine(nn.Module target, IReadOnlyList<nn.Module> ingredients, IReadOnlyList<double> weights, double divisor)
    {
        var layout = ModuleState.Export(target).Select(t => t.Info).ToList();
        var states = ingredients.Select(m => ModuleState.ToCheckpoint(m)).ToList();
        try
        {
            var result = new List<(TensorInfo, byte[])>(layout.Count);
            foreach (var info in layout)
            {
                var refs = new List<TensorRef>(states.Count);
                foreach (var (s, i) in states.Select((s, i) => (s, i)))
                {
                    if (s.Tensors.Count != layout.Count || !s.Tensors.TryGetValue(info.Name, out var r))
                        throw new ArgumentException($"ingredient {i} has different tensor names than the target");
                    if (!r.Info.SameShape(info)) throw new ArgumentException($"tensor '{info.Name}' differs in shape between ingredients");
                    refs.Add(r);
                }
                if (!info.DType.IsFloat())
                {
                    result.Add((info, SoupAccumulator.CopySource(null, refs[0]).GetBytes().ToArray()));
                    continue;
                }
                var compute = info.DType == DType.F64 ? DType.F64 : DType.F32;
                var accumulation = Accumulation.For(compute, refs.Select(r => r.DType), info.DType, weights);
                var acc = new byte[info.ElementCount * accumulation.Size];
                SoupAccumulator.Clear(accumulation, acc);
                for (int i = 0; i < refs.Count; i++)
                    SoupAccumulator.Add(accumulation, acc, compute, refs[i].DType, refs[i].GetBytes(), weights[i]);
                var mean = new byte[info.ByteLength];
                SoupAccumulator.Mean(accumulation, acc, compute, divisor, info.DType, mean);
                result.Add((info, mean));
            }
            using var soup = new InMemoryCheckpoint(result);
            ModuleState.Load(target, soup);
        }
        finally
        {
            foreach (var s in states) s.Dispose();
        }
    }
}
