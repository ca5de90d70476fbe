using ModelSoups.Checkpoints;
using ModelSoups.Merging;
using ModelSoups.Soups;
using ModelSoups.Tensors;

namespace ModelSoups.Engine;

/// <summary>
/// The engine's path for <see cref="Linear"/>: each input slice goes from its file bytes straight into the
/// <see cref="SoupAccumulator"/> sum (bf16 is widened inside the sum kernel), so no f32 copy of any input is
/// ever stored, and the accumulation dtype follows the tensor's file dtypes. It computes exactly what
/// <see cref="Linear.Merge{T}(MergeInput{T}, Accumulation, Span{T})"/> computes on converted inputs (conversion
/// to f32 is exact for every narrower dtype), which the engine still uses when it needs the converted inputs
/// (<c>sparsity: preserve</c>).
/// </summary>
static class AccumulatingMerge
{
    /// <summary>Elements summed at once: the sum (≤ 512 KiB) stays in the L2 cache while every input is added.</summary>
    internal const int SubBlock = 1 << 16;

    /// <summary>Bytes of working memory one block needs.</summary>
    internal static long WorkingBytes(TensorTask task, long elements) =>
        Math.Min(elements, SubBlock) * (sizeof(double) + task.Output.DType.Size());

    /// <summary>Merges elements [start, start + count) of <paramref name="task"/> into the writer; returns the input bytes read.</summary>
    public static long Run(MergePlan plan, TensorTask task, long start, int count, CheckpointWriter writer, NativeBuffer buffer, NonFiniteTally nonFinite)
    {
        var name = task.Output.Name;
        var compute = plan.Recipe.ComputeDType;
        // The task's own sources: a slice or layer map names other tensors than the output's (plan.SourcesOf).
        int first = plan.HasBaseFor(task) ? 1 : 0;
        var models = plan.SourcesOf(task).Skip(first).ToList();
        var weights = Linear.Weights(task.Parameters!, out double divisor);
        var accumulation = Accumulation.For(compute, models.Select(m => m.DType), task.Output.DType, weights);
        var outType = task.Output.DType;
        int outSize = outType.Size(), accSize = accumulation.Size;
        int sub = Math.Min(count, SubBlock);
        var acc = buffer.AsSpan<byte>(0, sub * accSize);
        var outBytes = buffer.AsSpan<byte>(sub * (long)sizeof(double), sub * outSize);
        long read = 0;
        for (int s = 0; s < count; s += sub)
        {
            int n = Math.Min(sub, count - s);
            var a = acc[..(n * accSize)];
            SoupAccumulator.Clear(accumulation, a);
            for (int i = 0; i < models.Count; i++)
            {
                int size = models[i].DType.Size();
                // Before touching the mapping (a truncated file faults) and after the sum (a rewrite in place): see CheckUnchanged.
                models[i].CheckUnchanged();
                var bytes = models[i].GetBytes((start + s) * size, n * size);
                if (NonFiniteCount.Count(models[i].DType, bytes) is var bad and > 0) nonFinite.AddInput(plan.InputIndexOf(task, first + i), models[i].Name, bad);
                SoupAccumulator.Add(accumulation, a, compute, models[i].DType, bytes, weights[i]);
                models[i].CheckUnchanged();
                read += (long)n * size;
            }
            var o = outBytes[..(n * outSize)];
            SoupAccumulator.Mean(accumulation, a, compute, divisor, outType, o);
            if (NonFiniteCount.Count(outType, o) > 0) nonFinite.AddOutput(name, NewNonFinite(models, start + s, n, outType, o));
            writer.Write(name, (start + s) * outSize, o);
        }
        return read;
    }

    /// <summary>Output elements of a slice that are non-finite where every input is finite (the merge made them).</summary>
    static long NewNonFinite(IReadOnlyList<TensorRef> models, long start, int n, DType outType, ReadOnlySpan<byte> outBytes)
    {
        long made = 0;
        for (int j = 0; j < n; j++)
        {
            if (!NonFiniteCount.IsNonFinite(outType, outBytes, j)) continue;
            bool inputsFinite = true;
            foreach (var m in models)
            {
                int size = m.DType.Size();
                inputsFinite &= NonFiniteCount.Count(m.DType, m.GetBytes((start + j) * size, size)) == 0;
            }
            if (inputsFinite) made++;
        }
        return made;
    }
}
