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

    /// <summary>Bytes of working memory one block needs: the sum, the output bytes and the staging of the reads.</summary>
    internal static long WorkingBytes(MergePlan plan, TensorTask task, long elements) =>
        Math.Min(elements, SubBlock) * (sizeof(double) + task.Output.DType.Size() + plan.MaxSourceSize(task));

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
        var stage = buffer.AsSpan<byte>(sub * (long)(sizeof(double) + outSize), sub * models.Max(m => m.DType.Size()));
        long read = 0;
        for (int s = 0; s < count; s += sub)
        {
            int n = Math.Min(sub, count - s);
            var a = acc[..(n * accSize)];
            SoupAccumulator.Clear(accumulation, a);
            for (int i = 0; i < models.Count; i++)
            {
                int size = models[i].DType.Size();
                // Positional reads (a file truncated meanwhile is an error naming it, never SIGBUS), checked before and
                // after for a rewrite in place: see TensorRef.ReadInto and CheckUnchanged.
                models[i].CheckUnchanged();
                var bytes = stage[..(n * size)];
                models[i].ReadInto((start + s) * size, bytes);
                if (NonFiniteCount.Count(models[i].DType, bytes) is var bad and > 0) nonFinite.AddInput(plan.InputIndexOf(task, first + i), models[i].Name, bad);
                SoupAccumulator.Add(accumulation, a, compute, models[i].DType, bytes, weights[i]);
                models[i].CheckUnchanged();
                read += (long)n * size;
            }
            var o = outBytes[..(n * outSize)];
            SoupAccumulator.Mean(accumulation, a, compute, divisor, outType, o);
            if (NonFiniteCount.Count(outType, o) > 0) nonFinite.AddOutput(name, NewNonFinite(models, start + s, n, outType, o, stage));
            writer.Write(name, (start + s) * outSize, o);
        }
        return read;
    }

    /// <summary>
    /// Output elements of a slice that are non-finite where every input is finite (the merge made them), the inputs
    /// reread into <paramref name="stage"/> (as long as the slice of the widest input): only on the error path.
    /// </summary>
    internal static long NewNonFinite(IReadOnlyList<TensorRef> models, long start, int n, DType outType, ReadOnlySpan<byte> outBytes, Span<byte> stage)
    {
        var inInput = new bool[n];   // only on the error path: the output already holds non-finite values
        foreach (var m in models)
        {
            int size = m.DType.Size();
            var bytes = stage[..(n * size)];
            m.ReadInto(start * size, bytes);
            for (int j = 0; j < n; j++) inInput[j] |= NonFiniteCount.IsNonFinite(m.DType, bytes, j);
        }
        long made = 0;
        for (int j = 0; j < n; j++)
            if (NonFiniteCount.IsNonFinite(outType, outBytes, j) && !inInput[j]) made++;
        return made;
    }
}
