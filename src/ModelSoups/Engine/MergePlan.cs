using System.Text;
using ModelSoups.Checkpoints;
using ModelSoups.Merging;
using ModelSoups.Recipes;
using ModelSoups.Soups;
using ModelSoups.Tensors;

namespace ModelSoups.Engine;

/// <summary>
/// A merge checked and laid out from headers and index files alone: every input opened (mapped,
/// not read), every tensor's inputs, output dtype and parameters resolved, every parameter
/// validated, the memory each tensor needs computed. Nothing is written until a plan exists, so a
/// bad recipe or a missing tensor fails before the output folder is touched (<c>soup merge --plan</c>
/// prints this and stops).
/// </summary>
public sealed class MergePlan : IDisposable
{
    /// <summary>Elements converted (and written) at once when turning results into the output dtype.</summary>
    internal const int ConvertSlice = 1 << 22;

    /// <summary>The recipe this plan runs.</summary>
    public required Recipe Recipe { get; init; }

    /// <summary>The merge method.</summary>
    public required IMergeMethod Method { get; init; }

    /// <summary>Opened inputs: the base first when there is one, then the models.</summary>
    public required IReadOnlyList<ICheckpoint> Inputs { get; init; }

    /// <summary>Paths of <see cref="Inputs"/> as the recipe names them.</summary>
    public required IReadOnlyList<RecipeModel> InputModels { get; init; }

    /// <summary>True when <see cref="Inputs"/>[0] is the base model.</summary>
    public required bool HasBase { get; init; }

    /// <summary>One task per output tensor, in name order.</summary>
    public required IReadOnlyList<TensorTask> Tasks { get; init; }

    /// <summary>Number of transformer layers seen in the tensor names (0 when none).</summary>
    public required int LayerCount { get; init; }

    /// <summary>With slices: one line per slice, output layers and the (model, input layers) they come from; null otherwise.</summary>
    public IReadOnlyList<string>? LayerMap { get; init; }

    /// <summary>The output tokenizer (tokenizer_source, tokenizer block, chat_template), or null: tokenizer files copied from <see cref="ConfigSource"/>.</summary>
    public OutputTokenizer? Tokenizer { get; init; }

    /// <summary>The vocabulary size written into the output's config.json: the embedding rows when a tokenizer merge rebuilt them, else null.</summary>
    public int? OutputVocabSize => Tasks.Any(t => t.Rows is not null) ? Tokenizer?.RowCount : null;

    /// <summary>The layer count written into the output's config.json: set when slices change it, else null (left as the source's).</summary>
    public int? OutputLayerCount => LayerMap is null ? null : LayerCount;

    /// <summary>Things the user should know (copied tensors that differ between inputs, dropped duplicates).</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>The folder config and tokenizer files are copied from (base, else first model), or null.</summary>
    public string? ConfigSource { get; init; }

    /// <summary>Models merged (the base excluded).</summary>
    public int ModelCount => Inputs.Count - (HasBase ? 1 : 0);

    /// <summary>Bytes of the output weights.</summary>
    public long OutputBytes => Tasks.Sum(t => t.Output.ByteLength);

    /// <summary>Bytes the merge reads from the inputs.</summary>
    public long InputBytes => Tasks.Sum(t => t.Action == TensorAction.Copy
        ? t.Output.ByteLength
        : SourcesOf(t).Sum(r => r.ByteLength));

    /// <summary>The tensors a merge task reads, the base first when <see cref="HasBaseFor"/>.</summary>
    public IReadOnlyList<TensorRef> SourcesOf(TensorTask task) => task.Sources ?? [.. Inputs.Select(c => c.Tensors[task.Output.Name])];

    /// <summary>The index in <see cref="Inputs"/> of source <paramref name="source"/> of <paramref name="task"/>.</summary>
    public int InputIndexOf(TensorTask task, int source) => task.SourceInputs?[source] ?? source;

    /// <summary>Whether the first of <see cref="SourcesOf"/> is the base.</summary>
    public bool HasBaseFor(TensorTask task) => task.HasBase ?? HasBase;

    int SourceCount(TensorTask task) => task.Sources?.Count ?? Inputs.Count;

    /// <summary>Size of one compute element (4 for f32, 8 for f64).</summary>
    public int ComputeSize => Recipe.ComputeDType.Size();

    /// <summary>Input elements read (positionally) into one staging buffer at a time before they are converted.</summary>
    internal const int StageElements = 1 << 16;

    /// <summary>Bytes one worker needs to process <paramref name="elements"/> elements of <paramref name="task"/> at once:
    /// the converted inputs and the result, the output bytes, the staging buffer of the reads and the method's declared
    /// scratch (<see cref="IMergeMethod.ScratchElements"/>) — everything the engine and the method allocate for it.
    /// For a copy, <paramref name="elements"/> are bytes and this is its staging buffer.</summary>
    public long WorkingBytes(TensorTask task, long elements)
    {
        if (task.Action == TensorAction.Copy) return Math.Min(elements, CopyStageBytes);
        int sources = SourceCount(task);
        return (sources + 1) * elements * ComputeSize
            + Math.Min(elements, ConvertSlice) * task.Output.DType.Size()
            + Math.Min(elements, StageElements) * MaxSourceSize(task)
            + ScratchBytes(task, elements);
    }

    /// <summary>Bytes of scratch reserved for the method on a work item of <paramref name="elements"/> elements.</summary>
    internal long ScratchBytes(TensorTask task, long elements) =>
        Method.ScratchElements(elements, SourceCount(task) - (HasBaseFor(task) ? 1 : 0)) is var e and > 0 ? e * ComputeSize + MergeScratch.SlackBytes : 0;

    /// <summary>Widest file dtype among the task's inputs (bytes per element).</summary>
    internal int MaxSourceSize(TensorTask task) => SourcesOf(task).Max(s => s.DType.Size());

    /// <summary>Largest piece of a copied tensor read (positionally) and written at once.</summary>
    internal const int CopyStageBytes = 1 << 20;

    /// <summary>Builds and validates the plan for <paramref name="recipe"/>; throws <see cref="ModelSoupsException"/> on the first problem.</summary>
    public static MergePlan Create(Recipe recipe, MergeOptions options) => Create(recipe, options, MergeMethods.TryGet(recipe.MergeMethod, out var m)
        ? m
        : throw new RecipeException($"unknown merge_method '{recipe.MergeMethod}'; known methods: {string.Join(", ", MergeMethods.All.Select(x => x.Name))}", recipe.SourcePath));

    /// <summary>The plan of <paramref name="recipe"/> run by <paramref name="method"/> (tests plan methods outside the registry this way).</summary>
    internal static MergePlan Create(Recipe recipe, MergeOptions options, IMergeMethod method)
    {
        var notes = new List<string>();
        var baseModel = recipe.BaseModel;
        if (baseModel is not null && method.BaseModel == BaseModelUse.None)
        {
            notes.Add($"{method.Name} does not use a base model; base_model is used only as the source of config and tokenizer files and of non-float tensors.");
        }
        if (baseModel is null && method.BaseModel == BaseModelUse.Required)
            throw new RecipeException($"{method.Name} needs a base_model (the pre-trained model the task vectors are taken from)", recipe.SourcePath);
        if (recipe.PreserveSparsity)
            notes.Add("sparsity: preserve: the models' zero patterns are compared while merging (a difference stops the merge before anything is written) and shared zeros stay exactly 0.");
        if (recipe.Slices is not null) return FromSlices(recipe, method, notes, options);
        var models = recipe.Models.ToList();
        bool baseIsInput = baseModel is not null && method.BaseModel != BaseModelUse.None;
        if (baseIsInput)
        {
            // mergekit lists the base among `models` in many recipes; its task vector is zero, so it is
            // dropped from the models rather than counted as an extra ingredient.
            int before = models.Count;
            models.RemoveAll(x => SamePath(x.Path, baseModel!.Path));
            if (models.Count != before) notes.Add("the base model is also listed under models; it is used as the base only.");
        }

        var inputModels = new List<RecipeModel>();
        if (baseIsInput) inputModels.Add(baseModel!);
        inputModels.AddRange(models);
        var opened = new List<ICheckpoint>();
        try
        {
            foreach (var im in inputModels) opened.Add(Open(im, options));
            ICheckpoint? copySource = null;
            if (baseModel is not null && !baseIsInput) { copySource = Open(baseModel, options); opened.Add(copySource); }
            foreach (var c in opened) notes.AddRange(c.Notes.Select(n => $"{c.Location}: {n}"));
            var plan = Build(recipe, method, inputModels, opened, baseIsInput, copySource, notes, options);
            return plan;
        }
        catch (ModelSoupsException e) when (e.Path is null && recipe.SourcePath is not null)
        {
            // A parameter error (density, t, lambda, weights) is about the recipe: name its file.
            foreach (var c in opened) c.Dispose();
            throw new RecipeException(e.Message, recipe.SourcePath, e);
        }
        catch
        {
            foreach (var c in opened) c.Dispose();
            throw;
        }
    }

    static MergePlan FromSlices(Recipe recipe, IMergeMethod method, List<string> notes, MergeOptions options)
    {
        var s = SlicePlanner.Plan(recipe, method, notes, options);
        var plan = new MergePlan
        {
            Recipe = recipe,
            Method = method,
            Inputs = s.Inputs,
            InputModels = s.InputModels,
            HasBase = false,
            Tasks = s.Tasks,
            LayerCount = s.LayerCount,
            LayerMap = s.LayerMap,
            Notes = notes,
            ConfigSource = s.ConfigSource,
            Tokenizer = s.Tokenizer,
        };
        try
        {
            plan.CheckMemory(options);
            // The output config must be writable with the new layer count: checked now, not after the merge.
            if (plan.ConfigSource is { } folder && File.Exists(Path.Combine(folder, "config.json")))
                OutputConfig.Rewrite(File.ReadAllText(Path.Combine(folder, "config.json")), plan.LayerCount, recipe.OutDType, Path.Combine(folder, "config.json"), plan.OutputVocabSize);
        }
        catch { plan.Dispose(); throw; }
        return plan;
    }

    static MergePlan Build(Recipe recipe, IMergeMethod method, List<RecipeModel> inputModels, List<ICheckpoint> opened,
        bool hasBase, ICheckpoint? extraBase, List<string> notes, MergeOptions options)
    {
        var inputs = opened.Take(inputModels.Count).ToList();
        var schedules = RecipeParameters.FromRecipe(recipe, inputModels.Skip(hasBase ? 1 : 0).ToList());
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var c in inputs) names.UnionWith(c.Tensors.Keys);
        // Layer counts per stack (mergekit: t = i/(L − 1) within each stack, so a vision tower and a text stack each use their own L).
        var stackLayers = names.Where(x => LayerIndex.Parse(x) is not null).GroupBy(x => LayerIndex.Stack(x)!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Max(x => LayerIndex.Parse(x)!.Value) + 1, StringComparer.Ordinal);
        int layerCount = stackLayers.Values.DefaultIfEmpty(0).Max();

        var problems = new List<string>();
        var tasks = new List<TensorTask>();
        string? configSource = null;
        var sourceModel = recipe.BaseModel ?? recipe.Models[0];
        if (Directory.Exists(sourceModel.Path)) configSource = sourceModel.Path;
        var tokenizer = OutputTokenizer.Plan(recipe, inputModels, configSource);
        // mergekit permutes the embeddings whenever a tokenizer is built (PermutedEmbeddings), which also
        // drops padding rows past the vocabulary; the gather is the identity when nothing else changes.
        bool permuteEmbeddings = tokenizer?.Vocabulary is not null;
        var reference = inputs[0];   // the base when there is one, else the first model: it sets output dtypes
        var copyDiffers = new List<string>();
        // Inputs a caller has checked already (soup greedy's ingredients, IngredientLineup) are not compared again.
        bool linedUp = options.LinedUp?.Covers(inputs) == true;
        foreach (var name in names)
        {
            var refs = inputs.Select(c => c.Tensors.GetValueOrDefault(name)).ToList();
            if (permuteEmbeddings && OutputTokenizer.IsEmbedding(name) && LayerIndex.Parse(name) is null)
            {
                // The vocabulary changes (tokenizer_source): the rows are gathered per token first.
                if (tokenizer!.EmbeddingTask(name, refs, inputModels, hasBase, () => RecipeParameters.ForTensor(method, schedules, name, null, layerCount),
                        method, recipe.OutDType, problems) is { } embedding)
                    tasks.Add(embedding);
                continue;
            }
            var first = refs.First(r => r is not null)!;
            var missing = linedUp ? [] : refs.Select((r, i) => (r, i)).Where(p => p.r is null).Select(p => Short(inputModels[p.i])).ToList();
            var shapeMismatch = linedUp ? [] : refs.Where(r => r is not null && !r.Info.SameShape(first.Info)).ToList();
            if (missing.Count > 0 || shapeMismatch.Count > 0)
            {
                if (recipe.AllowMissingFromBase && hasBase && refs[0] is { } b)
                {
                    tasks.Add(new TensorTask { Output = b.Info, Action = TensorAction.Copy, CopySource = b, Note = "taken from the base (missing or different shape in some inputs)" });
                    notes.Add($"{name}: missing or of another shape in some inputs; copied from the base (allow_missing).");
                    continue;
                }
                problems.Add(missing.Count > 0
                    ? $"{name} (missing in {string.Join(", ", missing)})"
                    : $"{name} (shapes {string.Join(" vs ", refs.Where(r => r is not null).Select(r => r!.Info.ShapeText).Distinct())})");
                continue;
            }
            bool allFloat = refs.All(r => r!.DType.IsFloat());
            if (!allFloat)
            {
                // Integer and bool tensors (num_batches_tracked, position ids) are never averaged: copy
                // from the base, else the first model (model-soups reference code, METHODS.md pitfalls).
                var source = SoupAccumulator.CopySource(hasBase ? null : extraBase?.Tensors.GetValueOrDefault(name), refs[0]!);
                if (!linedUp && refs.Any(r => r!.DType != source.DType)) { problems.Add($"{name} (dtypes {string.Join(" vs ", refs.Select(r => r!.DType.SafetensorsName()).Distinct())})"); continue; }
                if (refs.Any(r => !r!.HasSameContent(source))) copyDiffers.Add(name);
                tasks.Add(new TensorTask { Output = source.Info, Action = TensorAction.Copy, CopySource = source, Note = "not a float tensor: copied" });
                continue;
            }
            int? layer = LayerIndex.Parse(name);
            int stackCount = layer is null ? layerCount : stackLayers[LayerIndex.Stack(name)!];
            var parameters = RecipeParameters.ForTensor(method, schedules, name, layer, stackCount);
            tasks.Add(TensorTask.Merge(method, parameters, hasBase, name, first.Shape, recipe.OutDType,
                (reference.Tensors.GetValueOrDefault(name) ?? first).DType, layer, stackCount));
        }
        if (problems.Count > 0)
        {
            var shown = string.Join("; ", problems.Take(10)) + (problems.Count > 10 ? $"; and {problems.Count - 10} more" : "");
            throw new ModelSoupsException(
                $"the inputs do not line up: {problems.Count} tensor(s) differ: {shown}. Nothing was written" +
                (hasBase ? " (set allow_missing: true in the recipe to take such tensors from the base)." : "."),
                recipe.SourcePath);
        }
        if (tasks.Count == 0) throw new ModelSoupsException("the inputs have no tensors", recipe.SourcePath);
        if (copyDiffers.Count > 0)
            notes.Add($"{copyDiffers.Count} non-float tensor(s) differ between the inputs and were copied from {(hasBase ? "the base" : "the first model")}: {string.Join(", ", copyDiffers.Take(5))}{(copyDiffers.Count > 5 ? ", …" : "")}.");

        var plan = new MergePlan
        {
            Recipe = recipe,
            Method = method,
            Inputs = inputs,
            InputModels = inputModels,
            HasBase = hasBase,
            Tasks = tasks,
            LayerCount = layerCount,
            Notes = notes,
            ConfigSource = configSource,
            Tokenizer = tokenizer,
            ExtraOpened = extraBase,
        };
        plan.CheckMemory(options);
        return plan;
    }

    ICheckpoint? ExtraOpened { get; init; }

    /// <summary>Smallest block of an element-wise tensor worth a work item; a budget must hold one per worker.</summary>
    internal const int MinBlockElements = 4096;

    /// <summary>The least memory budget this merge can run in (one worker, the largest minimal work item).</summary>
    public long MinimumBudgetBytes => Tasks
        .Select(t => t.Action == TensorAction.Copy ? WorkingBytes(t, Math.Min(t.Output.ByteLength, MinBlockElements))
            : WorkingBytes(t, t.Elementwise ? Math.Min(t.Output.ElementCount, MinBlockElements) : t.Output.ElementCount))
        .DefaultIfEmpty(0).Max();

    /// <summary>
    /// Worker threads the budget allows: each needs room for at least one minimal work item, so a small budget
    /// runs fewer threads rather than more, tinier blocks (the budget caps the per-thread buffers too).
    /// </summary>
    public int ThreadsFor(MergeOptions options)
    {
        long min = Math.Max(1, Tasks.Where(t => t.Action == TensorAction.Merge && t.Elementwise)
            .Select(t => WorkingBytes(t, Math.Min(t.Output.ElementCount, MinBlockElements))).DefaultIfEmpty(1).Max());
        return (int)Math.Clamp(options.MemoryBudgetBytes / min, 1, Math.Max(1, options.Threads));
    }

    void CheckMemory(MergeOptions options)
    {
        foreach (var t in Tasks)
        {
            if (t.Action != TensorAction.Merge || t.Elementwise) continue;
            long need = WorkingBytes(t, t.Output.ElementCount);
            if (need > options.MemoryBudgetBytes)
                throw new ModelSoupsException(
                    $"tensor {t.Output.Name} ({t.Output.ElementCount:N0} elements) needs {ByteSize.Format(need)} ({need:N0} bytes) at once for {Method.Name} with {Inputs.Count} inputs, " +
                    $"more than the memory budget of {ByteSize.Format(options.MemoryBudgetBytes)}; raise --memory-budget.", Recipe.SourcePath);
        }

        long minimum = MinimumBudgetBytes;
        if (options.MemoryBudgetBytes < minimum)
            throw new ModelSoupsException(
                $"the memory budget of {ByteSize.Format(options.MemoryBudgetBytes)} is below the {ByteSize.Format(minimum)} ({minimum:N0} bytes) this merge needs at least " +
                $"(one block of {MinBlockElements} elements for {Method.Name} with {Inputs.Count} inputs); raise --memory-budget to at least that.", Recipe.SourcePath);
    }

    /// <summary>Peak working memory the engine will use with these options (compute buffers only).</summary>
    public long ExpectedPeakBytes(MergeOptions options)
    {
        var perWorker = Tasks.Where(t => t.Action == TensorAction.Merge)
            .Select(t => WorkingBytes(t, t.Elementwise ? Math.Min(t.Output.ElementCount, BlockElements(t, options)) : t.Output.ElementCount))
            .OrderDescending().Take(Math.Max(1, options.Threads)).Sum();
        return Math.Min(perWorker, options.MemoryBudgetBytes);
    }

    /// <summary>Elements per block for an element-wise task under these options.</summary>
    public int BlockElements(TensorTask task, MergeOptions options)
    {
        // Fixed part (the method's per-call scratch: histograms, chunk rows) once per block, the rest per element.
        long fixedBytes = WorkingBytes(task, 0);
        long perElement = Math.Max(1, WorkingBytes(task, 1) - fixedBytes);
        long fit = Math.Max(0, options.MemoryBudgetBytes / Math.Max(1, options.Threads) - fixedBytes) / perElement;
        long block = Math.Min(options.MaxBlockElements, fit);
        block = block >= MinBlockElements ? block / MinBlockElements * MinBlockElements : Math.Max(1, block);
        return (int)Math.Max(1, block);
    }

    /// <summary>A human summary of the plan: what would be done, sizes and memory.</summary>
    public string Describe(MergeOptions options, string outputFolder)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"method      {Method.Name}: {Method.Description}");
        if (Tasks.FirstOrDefault(t => t.Action == TensorAction.Merge)?.Parameters is { } first)
            sb.AppendLine($"definition  {Method.Definition(first)}");
        if (HasBase) sb.AppendLine($"base        {InputModels[0].Spelled}");
        if (LayerMap is not null && Recipe.BaseModel is { } sliceBase) sb.AppendLine($"base        {sliceBase.Spelled}");
        foreach (var line in LayerMap ?? []) sb.AppendLine($"slice       {line}");
        foreach (var (im, i) in InputModels.Skip(HasBase ? 1 : 0).Select((x, i) => (x, i)))
        {
            if (LayerMap is not null) break;
            var ps = im.Parameters.Count == 0 ? "" : "  " + string.Join(", ", im.Parameters.Select(p => $"{p.Key}={p.Value.Describe()}"));
            sb.AppendLine($"model {i + 1,-5} {im.Spelled}{ps}");
        }
        if (Recipe.Parameters.Count > 0)
            sb.AppendLine("parameters  " + string.Join(", ", Recipe.Parameters.Select(p => $"{p.Key}={p.Value.Describe()}")));
        int merged = Tasks.Count(t => t.Action == TensorAction.Merge);
        sb.AppendLine($"tensors     {Tasks.Count} ({merged} merged, {Tasks.Count - merged} copied); {LayerCount} layers");
        sb.AppendLine($"compute     {Recipe.ComputeDType.SafetensorsName()}; output dtype {(Recipe.OutDType?.SafetensorsName() ?? "as inputs")}");
        sb.AppendLine($"reads       {ByteSize.Format(InputBytes)} from {Inputs.Count} input(s)");
        int shards = (int)Math.Max(1, (OutputBytes + options.MaxShardBytes - 1) / options.MaxShardBytes);
        sb.AppendLine($"writes      {ByteSize.Format(OutputBytes)} in about {shards} shard(s) to {outputFolder}");
        sb.AppendLine($"memory      peak working memory {ByteSize.Format(ExpectedPeakBytes(options))} (budget {ByteSize.Format(options.MemoryBudgetBytes)}, {options.Threads} thread(s))");
        if (Tokenizer is not null) sb.AppendLine(Tokenizer.Summary);
        foreach (var n in Notes) sb.AppendLine($"note        {n}");
        return sb.ToString();
    }

    static string Short(RecipeModel m) => m.Spelled;


    /// <summary>An input: the caller's open checkpoint when it lent one (<see cref="MergeOptions.OpenedInputs"/>), else opened here, with the recipe's state_dict_key / strip_prefix for it over the command's flags (<see cref="RecipeModel.OpenOptions"/>).</summary>
    static ICheckpoint Open(RecipeModel model, MergeOptions options) =>
        options.OpenedInputs?.GetValueOrDefault(Path.GetFullPath(model.Path)) is { } open ? new BorrowedCheckpoint(open) : Checkpoint.Open(model.Path, model.OpenOptions(options.Open));

    static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd('/'), Path.GetFullPath(b).TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>Closes every input.</summary>
    public void Dispose()
    {
        foreach (var c in Inputs) c.Dispose();
        ExtraOpened?.Dispose();
    }
}
