using System.Diagnostics;
using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using ModelSoups.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Soups;

/// <summary>
/// Learned soup (Wortsman et al. 2022, appendix I; mlfoundations/model-soups learned_bylayer.py): mixing
/// coefficients are trained by gradient descent on held-out data. Global: θ = Σ_i softmax(α)_i θ_i with α ∈ ℝᵏ;
/// by layer: one α row per tensor, softmax over ingredients per tensor. The logits are scaled by a learned
/// temperature β. α starts uniform, β at 1; AdamW (lr 0.05, no weight decay) as the reference. The forward pass is
/// functional (<see cref="IFunctionalModel"/>) so gradients reach α; BatchNorm statistics are mixed like weights
/// and used in inference form. All ingredients are held in memory as f32.
/// </summary>
public static class LearnedSoup
{
    /// <summary>Memory a learned soup of <paramref name="ingredients"/> models of <paramref name="modelBytes"/> each needs: k × bytes × 2 (weights plus the mixed copy, gradients and activations).</summary>
    public static long EstimateBytes(int ingredients, long modelBytes) => checked(ingredients * modelBytes * 2);

    /// <summary>MemAvailable of /proc/meminfo in bytes, or null where it cannot be read.</summary>
    public static long? AvailableBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>Throws a clear <see cref="ModelSoupsException"/> when <paramref name="needed"/> bytes exceed <paramref name="available"/> (null: unknown, not checked).</summary>
    public static void CheckMemory(long needed, long? available)
    {
        if (available is { } a && needed > a)
            throw new ModelSoupsException(
                $"a learned soup holds every ingredient in memory: about {needed / (1 << 20)} MiB needed, {a / (1 << 20)} MiB available; use fewer ingredients or a greedy soup");
    }

    /// <summary>
    /// Learns the mixture of <paramref name="ingredients"/> (same architecture <paramref name="spec"/>) on
    /// <paramref name="data"/> (the held-out set: the soup is fitted on the data the greedy soup selects on).
    /// </summary>
    public static LearnedSoupResult Run(ModelSpec spec, IReadOnlyList<(string Name, ICheckpoint Checkpoint)> ingredients, ImageDataset data,
        LearnedSoupOptions o, Action<int, int, double>? progress = null, CancellationToken cancel = default)
    {
        int k = ingredients.Count;
        if (k == 0) throw new ModelSoupsException("a learned soup needs at least one ingredient");
        if (o.Epochs < 0 || o.BatchSize < 1 || !(o.LearningRate > 0)) throw new ModelSoupsException("epochs ≥ 0, batch size ≥ 1 and a positive learning rate are needed");
        TorchRuntime.UseAllCores();
        var clock = Stopwatch.StartNew();
        var layout = ingredients[0].Checkpoint.Tensors.Values.Select(t => t.Info).ToList();
        long modelBytes = layout.Where(i => i.DType.IsFloat()).Sum(i => i.ElementCount * 4);
        CheckMemory(EstimateBytes(k, modelBytes), AvailableBytes());

        using var model = spec.Create();
        if (model is not IFunctionalModel functional)
            throw new ModelSoupsException($"{spec.Architecture} has no functional forward pass, which a learned soup needs");
        // Names, shapes and dtypes must agree with the architecture and between ingredients.
        var expected = ModuleState.ToCheckpoint(model);
        foreach (var (name, ckpt) in ingredients)
        {
            if (ckpt.Tensors.Count != expected.Tensors.Count || expected.Tensors.Keys.Any(n => !ckpt.Tensors.ContainsKey(n)))
                throw new ModelSoupsException($"ingredient '{name}' does not have the tensors of {spec.Architecture}", ckpt.Location);
            foreach (var info in layout)
                if (ckpt.Tensors[info.Name].DType != info.DType || !ckpt.Tensors[info.Name].Info.SameShape(info))
                    throw new ModelSoupsException($"tensor '{info.Name}' differs in dtype or shape between ingredients", ckpt.Location);
        }

        var floatNames = layout.Where(i => i.DType.IsFloat()).Select(i => i.Name).ToList();
        var stacks = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        int rows = o.ByLayer ? floatNames.Count : 1;
        using var alphaRaw = new global::TorchSharp.Modules.Parameter(zeros(rows, k));
        using var beta = new global::TorchSharp.Modules.Parameter(ones(1));
        var curve = new List<LearnedSoupEpoch>();
        try
        {
            foreach (var name in floatNames)
            {
                var info = layout.First(i => i.Name == name);
                var parts = ingredients.Select(ing => FloatTensor(ing.Checkpoint.Tensors[name])).ToList();
                stacks[name] = stack(parts);
                foreach (var p in parts) p.Dispose();
            }

            using var optimizer = new AdamW([alphaRaw, beta], lr: o.LearningRate);
            int stepsPerEpoch = DataOrder.StepsPerEpoch(data.Count, Math.Min(o.BatchSize, data.Count));
            using var batches = DataOrder.Batches(data.Count, Math.Min(o.BatchSize, data.Count), o.Seed).GetEnumerator();
            for (int epoch = 0; epoch < o.Epochs; epoch++)
            {
                double lossSum = 0; long correct = 0, seen = 0;
                for (int s = 0; s < stepsPerEpoch; s++)
                {
                    cancel.ThrowIfCancellationRequested();
                    batches.MoveNext();
                    using var scope = NewDisposeScope();
                    var (x, y) = data.Batch(batches.Current);
                    var logits = functional.Forward(spec.Prepare(x), Mix(alphaRaw, floatNames, stacks, k)) * beta;
                    var loss = nn.functional.cross_entropy(logits, y);
                    optimizer.ZeroGrad();
                    loss.backward();
                    optimizer.Step();
                    lossSum += loss.item<float>() * batches.Current.Length;
                    correct += logits.argmax(1).eq(y).sum().item<long>();
                    seen += batches.Current.Length;
                    progress?.Invoke(epoch + 1, s + 1, lossSum / seen);
                }
                curve.Add(new LearnedSoupEpoch(epoch + 1, lossSum / seen, (double)correct / seen));
            }

            // The soup itself, without gradient, written back in each tensor's own dtype.
            var tensors = new List<(TensorInfo, byte[])>();
            using (no_grad())
            using (var scope = NewDisposeScope())
            {
                var mixed = Mix(alphaRaw, floatNames, stacks, k);
                foreach (var info in layout)
                {
                    if (!mixed.TryGetValue(info.Name, out var t))
                    {
                        tensors.Add((info, ingredients[0].Checkpoint.Tensors[info.Name].GetBytes().ToArray()));
                        continue;
                    }
                    var values = t.contiguous().data<float>().ToArray();
                    var bytes = new byte[info.ByteLength];
                    DTypeConversion.FromSingle(values, info.DType, bytes);
                    tensors.Add((info, bytes));
                }
            }
            List<double[]> alpha;
            using (var scope = NewDisposeScope())
            {
                var weights = softmax(alphaRaw.detach(), 1);
                alpha = Enumerable.Range(0, rows).Select(r => weights.select(0, r).to(ScalarType.Float64).data<double>().ToArray()).ToList();
            }
            return new LearnedSoupResult
            {
                Soup = new StateDictCheckpoint(tensors, "learned soup"),
                Ingredients = ingredients.Select(i => i.Name).ToList(),
                Tensors = o.ByLayer ? floatNames : ["*"],
                Alpha = alpha,
                Beta = beta.item<float>(),
                ByLayer = o.ByLayer,
                Curve = curve,
                Examples = data.Count,
                Seconds = clock.Elapsed.TotalSeconds,
            };
        }
        finally
        {
            foreach (var t in stacks.Values) t.Dispose();
        }
    }

    /// <summary>θ = Σ_i softmax(α_row)_i θ_i for every float tensor (row 0 for all when global).</summary>
    static Dictionary<string, Tensor> Mix(Tensor alphaRaw, List<string> names, Dictionary<string, Tensor> stacks, int k)
    {
        var w = softmax(alphaRaw, 1);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int j = 0; j < names.Count; j++)
        {
            var s = stacks[names[j]];
            var shape = new long[s.dim()];
            Array.Fill(shape, 1L);
            shape[0] = k;
            var row = w.select(0, alphaRaw.shape[0] == 1 ? 0 : j).reshape(shape);
            result[names[j]] = (row * s).sum(dim: 0L);
        }
        return result;
    }

    static Tensor FloatTensor(TensorRef t)
    {
        var values = new float[t.ElementCount];
        DTypeConversion.ToSingle(t.DType, t.GetBytes(), values);
        return tensor(values).reshape(t.Shape);
    }
}
