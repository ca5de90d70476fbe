using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Merging;
using ModelSoups.Tensors;

namespace ModelSoups.Engine;

/// <summary>
/// The engine's path for TIES on bf16 checkpoints (<see cref="TaskVectorMerge.MergesBFloat16"/>): every input (the
/// base included) is read positionally into a 16-bit buffer and handed to the method as it is in the file, and the
/// method writes the bf16 output — no f32 copy of any input, half the memory traffic and less than half the working
/// memory of the converted path. Widening bf16 is exact and the method rounds its f32 result as
/// <see cref="DTypeConversion.FromCompute{T}"/> does, so the output bytes are the converted path's (<c>MergeEngineTests.Bf16_ties_merge_equals_the_converted_f32_merge_rounded</c>).
/// </summary>
static class BFloat16TaskVectorMerge
{
    /// <summary>
    /// Whether <paramref name="task"/> takes this path: f32 compute, bf16 inputs (base included) and output, TIES' fused
    /// case, and nothing that needs the converted inputs (rows gathered per token, <c>sparsity: preserve</c>).
    /// </summary>
    public static bool Applies(MergePlan plan, TensorTask task) =>
        plan.Method is TaskVectorMerge method && plan.Recipe.ComputeDType == DType.F32 && !plan.Recipe.PreserveSparsity
        && task.Rows is null && plan.HasBaseFor(task) && task.Output.DType == DType.BF16
        && plan.SourcesOf(task).All(s => s.DType == DType.BF16) && method.MergesBFloat16(task.Parameters!);

    /// <summary>
    /// Bytes of working memory for <paramref name="elements"/> elements: every input and the output as bf16, then the
    /// method's declared scratch (8-byte aligned) — less than <see cref="MergePlan.WorkingBytes"/>, which the plan checks
    /// the budget with, counts for the converted path.
    /// </summary>
    public static long WorkingBytes(MergePlan plan, TensorTask task, long elements) =>
        ScratchOffset(plan.SourcesOf(task).Count, elements) + plan.ScratchBytes(task, elements);

    static long ScratchOffset(int inputs, long elements) => ((inputs + 1) * elements * sizeof(ushort) + 7) & ~7L;

    /// <summary>Merges elements [start, start + count) of <paramref name="task"/> into the writer; returns the input bytes read.</summary>
    public static unsafe long Run(MergePlan plan, TensorTask task, long start, int count, CheckpointWriter writer, NativeBuffer buffer,
        NonFiniteTally nonFinite, Action<long> scratchPeak)
    {
        var sources = plan.SourcesOf(task);
        int inputs = sources.Count;
        long bytes = (long)count * sizeof(ushort);
        var staged = new ReadOnlyMemory<ushort>[inputs];
        long read = 0;
        for (int i = 0; i < inputs; i++)
        {
            var source = sources[i];
            var values = buffer.AsSpan<ushort>(i * bytes, count);
            // Positional reads, never the mapping (a file truncated meanwhile is an error naming it, not SIGBUS), checked
            // for a rewrite in place before and after; non-finite inputs counted per read while the bytes are in cache.
            source.CheckUnchanged();
            long bad = 0;
            for (int s = 0; s < count; s += MergePlan.StageElements)
            {
                var chunk = MemoryMarshal.AsBytes(values.Slice(s, Math.Min(MergePlan.StageElements, count - s)));
                source.ReadInto((start + s) * sizeof(ushort), chunk);
                bad += NonFiniteCount.Count(DType.BF16, chunk);
            }
            source.CheckUnchanged();
            if (bad > 0) nonFinite.AddInput(plan.InputIndexOf(task, i), source.Name, bad);
            read += bytes;
            staged[i] = new NativeMemoryManager<ushort>(buffer, i * bytes, count).Memory;
        }

        long scratchAt = ScratchOffset(inputs, count);
        var scratch = MergeScratch.Over((byte*)buffer.Pointer + scratchAt, plan.ScratchBytes(task, count));
        var output = buffer.AsSpan<ushort>(inputs * bytes, count);
        ((TaskVectorMerge)plan.Method).MergeBFloat16(staged[1..], staged[0], task.Parameters!, scratch, output);
        scratchPeak(scratch.PeakBytes);

        var name = task.Output.Name;
        for (int s = 0; s < count; s += MergePlan.ConvertSlice)
        {
            int n = Math.Min(MergePlan.ConvertSlice, count - s);
            var o = MemoryMarshal.AsBytes(output.Slice(s, n));
            // Only on the error path: which non-finite outputs had finite inputs (reread into the first input's bytes,
            // which the merge no longer needs).
            if (NonFiniteCount.Count(DType.BF16, o) > 0)
                nonFinite.AddOutput(name, AccumulatingMerge.NewNonFinite(sources, start + s, n, DType.BF16, o, buffer.AsSpan<byte>(0, n * sizeof(ushort))));
            writer.Write(name, (start + s) * sizeof(ushort), o);
        }
        return read;
    }
}
