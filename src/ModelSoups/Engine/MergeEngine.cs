using System.Collections.Concurrent;
using System.Diagnostics;
using System.Numerics;
using ModelSoups.Checkpoints;
using ModelSoups.Durability;
using ModelSoups.Merging;
using ModelSoups.Recipes;
using ModelSoups.Soups;
using ModelSoups.Tensors;

namespace ModelSoups.Engine;

/// <summary>
/// Runs a <see cref="MergePlan"/>: streams the output tensor by tensor (element-wise methods block
/// by block) on several threads, converting each input slice from its file dtype into the compute
/// dtype in buffers rented from a <see cref="MemoryBudget"/>, applying the method and writing the
/// result straight into its place in the output shard. Inputs are read with positional reads (pread) into
/// staging buffers, not through their mappings, so a file truncated by another process meanwhile is a clean
/// <see cref="EnvironmentFaultException"/> rather than SIGBUS; methods take their working arrays from a
/// <see cref="MergeScratch"/> carved from the same budgeted buffer. The only
/// anonymous memory that grows with the work is the budget. Every output element depends only on
/// its inputs (random methods draw from a counter-based stream keyed by tensor name and element
/// index), so the output is bit-identical whatever the thread count or block size.
/// The output is written into a temporary folder and renamed into place only when complete.
/// </summary>
public static class MergeEngine
{
    /// <summary>Files copied from the base model's folder (else the first model's) into the output.</summary>
    public static readonly string[] SideFiles =
    [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "tokenizer.model", "vocab.json", "vocab.txt", "merges.txt", "added_tokens.json", "chat_template.jinja",
        "preprocessor_config.json", "soup-model.json",
    ];

    /// <summary>File name of the provenance record written beside the weights.</summary>
    public const string RecipeFileName = "soup-recipe.yaml";

    const int CopySlice = 64 << 20;
    const int ConvertSlice = MergePlan.ConvertSlice;

    sealed record WorkItem(TensorTask Task, long Start, long Count);

    /// <summary>The most scratch one method call took, over all workers.</summary>
    sealed class PeakScratch
    {
        long _bytes;
        public long Bytes => Interlocked.Read(ref _bytes);
        public void Add(long bytes)
        {
            long seen;
            while (bytes > (seen = Interlocked.Read(ref _bytes)) && Interlocked.CompareExchange(ref _bytes, bytes, seen) != seen) { }
        }
    }

    /// <summary>Plans and runs a recipe into <paramref name="outputFolder"/>.</summary>
    public static MergeSummary Run(Recipe recipe, string outputFolder, MergeOptions options, CancellationToken cancel = default)
    {
        using var plan = MergePlan.Create(recipe, options);
        return Run(plan, outputFolder, options, cancel);
    }

    /// <summary>
    /// Runs a plan into <paramref name="outputFolder"/>, in these steps: check the output is no input; start sampling
    /// progress (<see cref="MergeProgressSampler"/>) and hashing the inputs in the background; write the shard headers
    /// with the provenance (<see cref="MergeProvenance"/>, hashes as placeholders); run the work items on the worker
    /// threads (<see cref="WorkerPool"/>); refuse results the recipe forbids (masks that differ under
    /// <c>sparsity: preserve</c>, non-finite values the merge made); put the hashes in; add the side files
    /// (<see cref="OutputSideFiles"/>); commit.
    /// </summary>
    public static MergeSummary Run(MergePlan plan, string outputFolder, MergeOptions options, CancellationToken cancel = default)
    {
        if (string.IsNullOrWhiteSpace(outputFolder)) throw new ModelSoupsException("the output path is empty; give a folder with --out.");
        var output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputFolder));
        RefuseInputFolder(plan, output);
        options = options with { Threads = plan.ThreadsFor(options) };
        int threads = options.Threads;

        var files = AllInputFiles(plan);
        long hashBytes = options.HashInputs ? files.Sum(f => new FileInfo(f).Length) : 0;
        using var progress = new MergeProgressSampler(plan.Tasks.Count, plan.InputBytes + hashBytes, options.Progress);
        using var hashStop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // One budget for everything the merge allocates: the workers' buffers and the hashing's reads.
        using var budget = new MemoryBudget(options.MemoryBudgetBytes);
        Task<(IReadOnlyList<RecipeWriter.InputFile> Hashes, TimeSpan Took)>? hashing = null;
        try
        {
            // The inputs are hashed while the merge runs (on the same threads' worth of cores, from the page
            // cache the merge fills), never in a pass of their own; the header reserves a same-length placeholder.
            hashing = options.HashInputs ? StartHashing(files, threads, budget, progress.AddBytes, hashStop.Token) : null;
            var provenance = MergeProvenance.Create(plan, options, options.HashInputs ? InputHashes.Placeholders(files) : null);
            using var writer = CheckpointWriter.Create(output, [.. plan.Tasks.Select(t => t.Output)],
                new CheckpointWriterOptions(options.MaxShardBytes, provenance.Metadata, options.Overwrite));
            var items = WorkItems(plan, options);
            var remaining = plan.Tasks.ToDictionary(t => t.Output.Name, t => items.Count(i => i.Task == t));
            var maskMismatches = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
            var nonFinite = new NonFiniteTally();
            var peakScratch = new PeakScratch();
            WorkerPool.Run(items.Count, threads, (i, stop) =>
            {
                var item = items[i];
                progress.AddBytes(Process(plan, item, writer, budget, maskMismatches, nonFinite, peakScratch, stop));
                bool last;
                lock (remaining) last = --remaining[item.Task.Output.Name] == 0;
                if (last) progress.TensorDone();
            }, cancel);
            // The writer is not committed on a refusal: nothing reaches the output folder.
            RefuseMaskMismatches(plan, maskMismatches);
            nonFinite.RefuseMadeValues(plan, options.AllowNonFinite);

            var hashingTime = TimeSpan.Zero;
            IReadOnlyList<RecipeWriter.InputFile>? hashes = null;
            if (hashing is not null)
            {
                (hashes, hashingTime) = hashing.GetAwaiter().GetResult();
                provenance.WithHashes(hashes);
                writer.ReplaceMetadata(provenance.Metadata);
            }
            var notes = new List<string>(plan.Notes);
            notes.AddRange(writer.Notes);
            notes.AddRange(nonFinite.InputNotes(plan));
            notes.AddRange(nonFinite.AllowedOutputNotes(options.AllowNonFinite));

            OutputSideFiles.Write(plan, writer, hashes, provenance);
            writer.Commit();
            return new MergeSummary
            {
                OutputFolder = output,
                TensorsMerged = plan.Tasks.Count(t => t.Action == TensorAction.Merge),
                TensorsCopied = plan.Tasks.Count(t => t.Action == TensorAction.Copy),
                InputBytes = plan.InputBytes,
                OutputBytes = plan.OutputBytes,
                Elapsed = progress.Elapsed,
                HashingTime = hashingTime,
                PeakWorkingBytes = budget.PeakBytes,
                PeakScratchBytes = peakScratch.Bytes,
                PeakRssAnonBytes = progress.PeakAnonBytes,
                ShardFiles = writer.ShardFiles,
                Notes = notes,
            };
        }
        finally
        {
            hashStop.Cancel();
            try { hashing?.Wait(); } catch (AggregateException) { } // a failure already propagated; only wait for the reads to stop
        }
    }

    /// <summary><c>sparsity: preserve</c> with models whose zero patterns differ: refused, naming the tensors.</summary>
    static void RefuseMaskMismatches(MergePlan plan, ConcurrentDictionary<string, bool> mismatches)
    {
        if (mismatches.IsEmpty) return;
        var names = mismatches.Keys.Order(StringComparer.Ordinal).ToList();
        throw new ModelSoupsException(
            $"sparsity: preserve, but the models' masks (zero patterns) differ in {names.Count} tensor(s): " +
            string.Join(", ", names.Take(20)) + (names.Count > 20 ? $", and {names.Count - 20} more" : "") +
            ". Nothing was written; merge models pruned with the same mask, or drop sparsity: preserve.", plan.Recipe.SourcePath);
    }

    /// <summary>Output elements in a slice that are non-finite where every input is finite (the merge made them).</summary>
    static long NewNonFinite<T>(ReadOnlyMemory<T>[] inputs, int start, int n, DType outType, ReadOnlySpan<byte> outBytes)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long made = 0;
        for (int j = 0; j < n; j++)
        {
            if (!NonFiniteCount.IsNonFinite(outType, outBytes, j)) continue;
            bool inputsFinite = true;
            foreach (var m in inputs) inputsFinite &= T.IsFinite(m.Span[start + j]);
            if (inputsFinite) made++;
        }
        return made;
    }

    /// <summary>Hashes the input files in the background; the task returns the hashes and how long they took.</summary>
    static Task<(IReadOnlyList<RecipeWriter.InputFile> Hashes, TimeSpan Took)> StartHashing(IReadOnlyList<string> files, int threads, MemoryBudget budget, Action<long> onBytes, CancellationToken cancel) =>
        Task.Factory.StartNew(() =>
        {
            var clock = Stopwatch.StartNew();
            var hashes = InputHashes.Compute(files, threads, budget, onBytes, cancel);
            return (hashes, clock.Elapsed);
        }, cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    static IReadOnlyList<string> AllInputFiles(MergePlan plan) => plan.Inputs.SelectMany(c => c.Files).Distinct().ToList();

    /// <summary>
    /// The output must not be (or contain, or sit inside) an input folder: a merge never writes where it reads.
    /// Folders are compared by identity (device and inode), so symlinks, bind mounts and hard-linked folders
    /// cannot hide an input inside the output (which <c>--overwrite</c> would then delete).
    /// </summary>
    static void RefuseInputFolder(MergePlan plan, string output)
    {
        foreach (var (c, m) in plan.Inputs.Zip(plan.InputModels))
        {
            foreach (var dir in c.Files.Select(f => Path.GetDirectoryName(Path.GetFullPath(f))!).Distinct(StringComparer.Ordinal))
            {
                if (FolderOverlap.Overlaps(dir, output))
                    throw new ModelSoupsException($"the output folder overlaps the input {m.Spelled} (the same folder, or one inside the other, also through symlinks or mounts); choose an output folder outside every input folder", output);
            }
        }
    }

    static List<WorkItem> WorkItems(MergePlan plan, MergeOptions options)
    {
        var items = new List<WorkItem>();
        foreach (var t in plan.Tasks)
        {
            long n = t.Output.ElementCount;
            if (t.Action == TensorAction.Copy)
            {
                long bytes = t.Output.ByteLength;
                if (bytes == 0) { items.Add(new WorkItem(t, 0, 0)); continue; }
                for (long off = 0; off < bytes; off += CopySlice) items.Add(new WorkItem(t, off, Math.Min(CopySlice, bytes - off)));
            }
            else if (t.Elementwise && n > 0)
            {
                int block = plan.BlockElements(t, options);
                for (long s = 0; s < n; s += block) items.Add(new WorkItem(t, s, Math.Min(block, n - s)));
            }
            else
            {
                if (n > Array.MaxLength) throw new ModelSoupsException($"tensor {t.Output.Name} has {n:N0} elements; {plan.Method.Name} needs it whole and tensors over {Array.MaxLength:N0} elements are not supported");
                items.Add(new WorkItem(t, 0, n));
            }
        }
        return items;
    }

    /// <summary>Processes one work item; returns the input bytes it read.</summary>
    static long Process(MergePlan plan, WorkItem item, CheckpointWriter writer, MemoryBudget budget,
        ConcurrentDictionary<string, bool> maskMismatches, NonFiniteTally nonFinite, PeakScratch peakScratch, CancellationToken cancel)
    {
        var task = item.Task;
        if (task.Action == TensorAction.Copy)
        {
            if (item.Count > 0)
            {
                // Through a staging buffer inside the budget, read positionally (see TensorRef.ReadInto).
                long stage = Math.Min(item.Count, Math.Max(Math.Min(MergePlan.CopyStageBytes, budget.Capacity / 8), Math.Min(item.Count, MergePlan.MinBlockElements)));
                var buffer = budget.Rent(stage, cancel);
                try
                {
                    task.CopySource!.CheckUnchanged();
                    for (long off = 0; off < item.Count; off += stage)
                    {
                        var bytes = buffer.AsSpan<byte>(0, (int)Math.Min(stage, item.Count - off));
                        task.CopySource.ReadInto(item.Start + off, bytes);
                        writer.Write(task.Output.Name, item.Start + off, bytes);
                    }
                    task.CopySource.CheckUnchanged();
                }
                finally { budget.Return(buffer); }
            }
            return item.Count;
        }
        // Rows gathered per token (tokenizer merge) need the converted inputs: the generic path below.
        if (plan.Method is Linear && !plan.Recipe.PreserveSparsity && task.Rows is null)
        {
            var buffer = budget.Rent(AccumulatingMerge.WorkingBytes(plan, task, item.Count), cancel);
            try { return AccumulatingMerge.Run(plan, task, item.Start, checked((int)item.Count), writer, buffer, nonFinite); }
            finally { budget.Return(buffer); }
        }
        // TIES on bf16 checkpoints: the method reads the 16-bit inputs and writes the 16-bit output itself.
        if (BFloat16TaskVectorMerge.Applies(plan, task))
        {
            var buffer = budget.Rent(BFloat16TaskVectorMerge.WorkingBytes(plan, task, item.Count), cancel);
            try { return BFloat16TaskVectorMerge.Run(plan, task, item.Start, checked((int)item.Count), writer, buffer, nonFinite, peakScratch.Add); }
            finally { budget.Return(buffer); }
        }
        return plan.Recipe.ComputeDType == DType.F64
            ? Merge<double>(plan, item, writer, budget, maskMismatches, nonFinite, peakScratch, cancel)
            : Merge<float>(plan, item, writer, budget, maskMismatches, nonFinite, peakScratch, cancel);
    }

    static unsafe long Merge<T>(MergePlan plan, WorkItem item, CheckpointWriter writer, MemoryBudget budget,
        ConcurrentDictionary<string, bool> maskMismatches, NonFiniteTally nonFinite, PeakScratch peakScratch, CancellationToken cancel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var task = item.Task;
        var name = task.Output.Name;
        int count = checked((int)item.Count);
        var sources = plan.SourcesOf(task);
        bool hasBase = plan.HasBaseFor(task);
        int inputs = sources.Count;
        long computeBytes = (long)count * sizeof(T);
        // Layout: the converted inputs, the result, the output bytes, the read staging, the method's scratch.
        int outSize = task.Output.DType.Size();
        long outBytesAt = (inputs + 1) * computeBytes;
        long stageAt = outBytesAt + (long)Math.Min(count, ConvertSlice) * outSize;
        int stageElements = Math.Min(count, MergePlan.StageElements);
        long scratchAt = (stageAt + (long)stageElements * plan.MaxSourceSize(task) + 7) & ~7L;
        // Exactly what the planner counted; the scratch's 8-byte alignment comes out of its margin (SlackBytes).
        long working = plan.WorkingBytes(task, count);
        var buffer = budget.Rent(working, cancel);
        try
        {
            long read = 0;
            var memories = new ReadOnlyMemory<T>[inputs];
            for (int i = 0; i < inputs; i++)
            {
                var source = sources[i];
                var target = buffer.AsSpan<T>(i * computeBytes, count);
                if (task.Rows is { } rows)
                {
                    // An embedding whose vocabulary changed: rows gathered per token (tokenizer merge).
                    read += EmbeddingGather.Fill(rows, i, sources, task.Output.Shape[1], item.Start, target);
                    if (NonFiniteCount.Count<T>(target) is var badRows and > 0) nonFinite.AddInput(plan.InputIndexOf(task, i), source.Name, badRows);
                    memories[i] = new NativeMemoryManager<T>(buffer, i * computeBytes, count).Memory;
                    continue;
                }
                int size = source.DType.Size();
                // Before touching the mapping (a truncated file faults) and after (a rewrite in place): see CheckUnchanged.
                // Positional reads into the staging buffer, never the mapping: a file truncated meanwhile is an
                // EnvironmentFaultException, not SIGBUS; the checks around them catch a rewrite in place.
                source.CheckUnchanged();
                // Widening from 16-bit floats (or f32 into f64) is exact, NaN and ±Inf included: the non-finite count of
                // the staged file bytes, still in cache, is the converted values' (no second pass over the whole input).
                bool countStaged = source.DType is DType.BF16 or DType.F16 || (source.DType == DType.F32 && typeof(T) == typeof(double));
                long bad = 0;
                if (source.DType == plan.Recipe.ComputeDType && size == sizeof(T))
                {
                    countStaged = false;
                    source.ReadInto(item.Start * size, System.Runtime.InteropServices.MemoryMarshal.AsBytes(target));   // already the compute dtype
                }
                else
                {
                    var stage = buffer.AsSpan<byte>(stageAt, stageElements * size);
                    for (int s = 0; s < count; s += stageElements)
                    {
                        int n = Math.Min(stageElements, count - s);
                        var bytes = stage[..(n * size)];
                        source.ReadInto((item.Start + s) * size, bytes);
                        DTypeConversion.ToCompute(source.DType, bytes, target.Slice(s, n));
                        if (countStaged) bad += NonFiniteCount.Count(source.DType, bytes);
                    }
                }
                source.CheckUnchanged();
                read += (long)count * size;
                if (!countStaged) bad = NonFiniteCount.Count<T>(target);
                if (bad > 0) nonFinite.AddInput(plan.InputIndexOf(task, i), source.Name, bad);
                memories[i] = new NativeMemoryManager<T>(buffer, i * computeBytes, count).Memory;
            }
            int first = hasBase ? 1 : 0;
            var scratch = MergeScratch.Over((byte*)buffer.Pointer + scratchAt, Math.Max(0, working - scratchAt));   // capacity 0: never read
            var input = new MergeInput<T>
            {
                Models = memories[first..],
                Base = hasBase ? memories[0] : ReadOnlyMemory<T>.Empty,
                HasBase = hasBase,
                Parameters = task.Parameters!,
                TensorName = name,
                Shape = task.Output.Shape,
                LayerIndex = task.LayerIndex,
                LayerCount = task.LayerCount > 0 ? task.LayerCount : plan.LayerCount, // the tensor's own stack; plans that set none use the model's
                Seed = MergeSeed.ForTensor(plan.Recipe.RandomSeed, name),
                Offset = item.Start,
                Scratch = scratch,
            };
            var result = buffer.AsSpan<T>(inputs * computeBytes, count);
            if (plan.Recipe.PreserveSparsity && !SparsityPreservation.SameZeros(input.Models))
            {
                maskMismatches.TryAdd(name, true); // reported once every tensor has been looked at
                return read;
            }
            if (plan.Method is Linear linear)
                linear.Merge(input, Accumulation.For(plan.Recipe.ComputeDType, sources.Skip(first).Select(s => s.DType), task.Output.DType,
                    Linear.Weights(task.Parameters!, out _)), result);
            else plan.Method.Merge(input, result);
            if (plan.Recipe.PreserveSparsity) SparsityPreservation.KeepZeros(input.Models, result);

            peakScratch.Add(scratch.PeakBytes);
            var outType = task.Output.DType;
            var outBytes = buffer.AsSpan<byte>(outBytesAt, Math.Min(count, ConvertSlice) * outSize);
            for (int s = 0; s < count; s += ConvertSlice)
            {
                int n = Math.Min(ConvertSlice, count - s);
                var bytes = outBytes[..(n * outSize)];
                DTypeConversion.FromCompute<T>(result.Slice(s, n), outType, bytes);
                if (NonFiniteCount.Count(outType, bytes) > 0)
                    nonFinite.AddOutput(name, NewNonFinite(memories, s, n, outType, bytes));
                writer.Write(name, (item.Start + s) * outSize, bytes);
            }
            return read;
        }
        finally
        {
            budget.Return(buffer);
        }
    }
}
