using System.Globalization;
using ModelSoups.Checkpoints;
using ModelSoups.Merging;
using ModelSoups.Recipes;
using ModelSoups.Tensors;

namespace ModelSoups.Engine;

/// <summary>
/// Lays out a <c>slices:</c> recipe (mergekit <c>plan.py</c>, <c>MergePlanner._plan</c>): the output
/// is the slices' layers stacked in order and numbered 0, 1, 2, …; output layer j of a slice merges
/// layer <c>start + j</c> of each of the slice's sources with the recipe's method; the tensors before
/// the stack (embeddings) merge the first slice's sources, the tensors after it (final norm,
/// <c>lm_head</c>) the last slice's. Gradients run over each slice separately (t = j / (n − 1), 1 for a
/// one-layer slice), as in mergekit's <c>plan_slice</c>. Parameters resolve per tensor in mergekit's
/// order (<c>ConfigReader.parameter</c>): the source's, then the slice's, then the recipe's.
/// Everything is checked here, from headers, before anything is written.
/// </summary>
static class SlicePlanner
{
    /// <summary>What the plan needs from a slices recipe.</summary>
    public sealed record Result(
        IReadOnlyList<ICheckpoint> Inputs,
        IReadOnlyList<RecipeModel> InputModels,
        IReadOnlyList<TensorTask> Tasks,
        int LayerCount,
        IReadOnlyList<string> LayerMap,
        string? ConfigSource,
        OutputTokenizer? Tokenizer);

    /// <summary>Opens every model the slices name and plans every output tensor; disposes what it opened when it throws.</summary>
    public static Result Plan(Recipe recipe, IMergeMethod method, List<string> notes, MergeOptions options)
    {
        var slices = recipe.Slices!;
        var where = recipe.SourcePath;
        var models = recipe.Models.ToList();
        if (recipe.BaseModel is { } rb && !models.Any(m => m.Path == rb.Path)) models.Add(rb);
        var opened = new Dictionary<string, ICheckpoint>(StringComparer.Ordinal);
        try
        {
            foreach (var m in models) opened[m.Path] = Checkpoint.Open(m.Path, m.OpenOptions(options.Open));
            var layouts = new Dictionary<string, LayerLayout>(StringComparer.Ordinal);
            LayerLayout Layout(RecipeModel m)
            {
                if (!layouts.TryGetValue(m.Path, out var l)) layouts[m.Path] = l = LayerLayout.Of(opened[m.Path].Tensors.Keys, m.Path);
                return l;
            }

            var planned = new List<PlannedSlice>();
            for (int s = 0; s < slices.Count; s++) planned.Add(PlanSlice(s, slices[s], recipe, method, Layout, opened, models, notes));
            var prefix = Layout(slices[0].Sources[0].Model).StackPrefix;
            foreach (var source in slices.SelectMany(x => x.Sources))
                if (Layout(source.Model).StackPrefix != prefix)
                    throw new ModelSoupsException(
                        $"{source.Model.Spelled} names its layers '{Layout(source.Model).StackPrefix}N.' but {slices[0].Sources[0].Model.Spelled} '{prefix}N.'; slices stack layers of one architecture", where);

            int layerCount = planned.Sum(p => p.Length);
            var configModel = recipe.BaseModel ?? slices[0].Sources[0].Model;
            var configSource = Directory.Exists(configModel.Path) ? configModel.Path : null;
            var tokenizer = OutputTokenizer.Plan(recipe, models, configSource);
            var tasks = new List<TensorTask>();
            var problems = new List<string>();
            AddOutside(planned[0], pre: true, Layout(planned[0].Ordered[0].Model).PreLayer, planned[0].Ordered.Select(o => Layout(o.Model)).SelectMany(l => l.PreLayer),
                recipe, method, layerCount, tasks, problems, tokenizer);
            int outLayer = 0;
            var map = new List<string>();
            foreach (var p in planned)
            {
                map.Add(MapLine(p, outLayer));
                for (int j = 0; j < p.Length; j++, outLayer++)
                {
                    var sourceLayouts = p.Ordered.Select(o => Layout(o.Model)).ToList();
                    var suffixes = sourceLayouts[0].LayerSuffixes(p.Ordered[0].Start + j);
                    for (int k = 1; k < p.Ordered.Count; k++)
                    {
                        var other = sourceLayouts[k].LayerSuffixes(p.Ordered[k].Start + j);
                        if (!other.SequenceEqual(suffixes))
                        {
                            var odd = other.Except(suffixes).Concat(suffixes.Except(other)).First();
                            problems.Add($"slice {p.Number}: layer {p.Ordered[0].Start + j} of {p.Ordered[0].Model.Spelled} and layer {p.Ordered[k].Start + j} of {p.Ordered[k].Model.Spelled} hold different tensors (e.g. '{odd}')");
                        }
                    }
                    double t = p.Length > 1 ? j / (double)(p.Length - 1) : 1;
                    foreach (var suffix in suffixes)
                    {
                        var inputNames = p.Ordered.Select((o, k) => sourceLayouts[k].TensorName(o.Start + j, suffix)).ToList();
                        AddTask(p, prefix + outLayer.ToString(CultureInfo.InvariantCulture) + "." + suffix, inputNames, t, outLayer, layerCount,
                            recipe, method, tasks, problems);
                    }
                }
            }
            var last = planned[^1];
            AddOutside(last, pre: false, Layout(last.Ordered[0].Model).PostLayer, last.Ordered.Select(o => Layout(o.Model)).SelectMany(l => l.PostLayer),
                recipe, method, layerCount, tasks, problems, tokenizer);
            if (problems.Count > 0)
            {
                var shown = string.Join("; ", problems.Take(10)) + (problems.Count > 10 ? $"; and {problems.Count - 10} more" : "");
                throw new ModelSoupsException($"the slices' sources do not line up: {shown}. Nothing was written.", where);
            }

            var inputModels = models;
            return new Result(
                [.. inputModels.Select(m => opened[m.Path])],
                inputModels,
                [.. tasks.OrderBy(t => t.Output.Name, StringComparer.Ordinal)],
                layerCount,
                map,
                configSource,
                tokenizer);
        }
        catch
        {
            foreach (var c in opened.Values) c.Dispose();
            throw;
        }
    }

    /// <summary>One slice after checks: its sources with the base (when the method uses one) first.</summary>
    sealed record PlannedSlice(int Number, RecipeSlice Slice, IReadOnlyList<RecipeSliceSource> Ordered, bool HasBase, int Length,
        IReadOnlyList<ICheckpoint> Checkpoints, IReadOnlyList<int> InputIndices);

    static PlannedSlice PlanSlice(int index, RecipeSlice slice, Recipe recipe, IMergeMethod method, Func<RecipeModel, LayerLayout> layout,
        Dictionary<string, ICheckpoint> opened, List<RecipeModel> models, List<string> notes)
    {
        var where = recipe.SourcePath;
        int number = index + 1;
        foreach (var s in slice.Sources)
        {
            int layers = layout(s.Model).LayerCount;
            if (s.End > layers)
                throw new ModelSoupsException(
                    $"slice {number}: {s.Model.Spelled} layer_range [{s.Start}, {s.End}] goes past the end: the model has {layers} layers (0..{layers - 1}); nothing was written", where);
        }
        var lengths = slice.Sources.Select(s => s.Length).ToList();
        if (lengths.Distinct().Count() > 1)
            throw new ModelSoupsException(
                $"slice {number}: its sources give {string.Join(", ", slice.Sources.Select(s => $"{s.Length} layers ({s.Model.Spelled} [{s.Start}, {s.End}])"))}; every source of a slice must give the same number of layers; nothing was written", where);

        var baseModel = slice.BaseModel ?? recipe.BaseModel;
        var ordered = slice.Sources.ToList();
        bool hasBase = false;
        if (method.BaseModel != BaseModelUse.None && baseModel is not null)
        {
            // mergekit's method receives the base's tensors among the slice's gathered inputs, so the
            // base must be one of the sources; it leads the list and carries no per-model parameters.
            int b = ordered.FindIndex(s => s.Model.Path == baseModel.Path);
            if (b >= 0)
            {
                var baseSource = ordered[b];
                ordered.RemoveAt(b);
                ordered.Insert(0, baseSource);
                hasBase = true;
            }
            else if (method.BaseModel == BaseModelUse.Required)
                throw new ModelSoupsException(
                    $"slice {number}: base_model {baseModel.Spelled} is not one of the slice's sources; {method.Name} takes the base's layers from the slice, so add it as a source with the same layer_range", where);
            else
                notes.Add($"slice {number}: base_model {baseModel.Spelled} is not among its sources; {method.Name} runs without a base there.");
        }
        else if (method.BaseModel == BaseModelUse.Required)
            throw new ModelSoupsException($"{method.Name} needs a base_model (the pre-trained model the task vectors are taken from)", where);
        return new PlannedSlice(number, slice, ordered, hasBase, lengths[0], [.. ordered.Select(s => opened[s.Model.Path])],
            [.. ordered.Select(s => models.FindIndex(m => m.Path == s.Model.Path))]);
    }

    /// <summary>Tensors before or after the stack: named as in the inputs, merged from one slice's sources.</summary>
    static void AddOutside(PlannedSlice p, bool pre, IReadOnlyList<string> names, IEnumerable<string> allNames, Recipe recipe, IMergeMethod method, int layerCount,
        List<TensorTask> tasks, List<string> problems, OutputTokenizer? tokenizer)
    {
        var ordered = p.Ordered.Select(o => o.Model).ToList();
        bool permute = tokenizer?.Vocabulary is not null;
        foreach (var missing in allNames.Distinct().Except(names))
            problems.Add($"{missing} (in some sources of slice {p.Number} but not in {p.Ordered[0].Model.Spelled})");
        // Gradient position: 0 before the stack; after it, whatever the models form uses for
        // post-layer tensors (one rule for both forms: ParameterSchedule.Position).
        foreach (var name in names)
            if (permute && OutputTokenizer.IsEmbedding(name))
            {
                // The vocabulary changes (tokenizer_source): rows gathered per token from this slice's sources.
                double t = pre ? 0 : ParameterSchedule.Position(name, null, layerCount);
                var refs = p.Checkpoints.Select(c => c.Tensors.GetValueOrDefault(name)).ToList();
                if (tokenizer!.EmbeddingTask(name, refs, ordered, p.HasBase,
                        () => SliceParameters.ForTensor(method, recipe, p.Slice, p.Ordered, p.HasBase, name, [.. p.Ordered.Select(_ => name)], t),
                        method, recipe.OutDType, problems, p.InputIndices) is { } embedding)
                    tasks.Add(embedding);
            }
            else AddTask(p, name, [.. p.Ordered.Select(_ => name)], pre ? 0 : ParameterSchedule.Position(name, null, layerCount), null, layerCount, recipe, method, tasks, problems);
    }

    static void AddTask(PlannedSlice p, string outputName, IReadOnlyList<string> inputNames, double t, int? outLayer, int layerCount,
        Recipe recipe, IMergeMethod method, List<TensorTask> tasks, List<string> problems)
    {
        var refs = new List<TensorRef>();
        for (int k = 0; k < p.Ordered.Count; k++)
        {
            if (!p.Checkpoints[k].Tensors.TryGetValue(inputNames[k], out var r))
            {
                problems.Add($"{inputNames[k]} (missing in {p.Ordered[k].Model.Spelled})");
                return;
            }
            refs.Add(r);
        }
        var first = refs[0];
        if (refs.Any(r => !r.Info.SameShape(first.Info)))
        {
            problems.Add($"{outputName} (shapes {string.Join(" vs ", refs.Select(r => r.Info.ShapeText).Distinct())} in slice {p.Number})");
            return;
        }
        if (!refs.All(r => r.DType.IsFloat()))
        {
            if (refs.Any(r => r.DType != first.DType)) { problems.Add($"{outputName} (dtypes {string.Join(" vs ", refs.Select(r => r.DType.SafetensorsName()).Distinct())})"); return; }
            // Integer and bool tensors are never averaged: copied from the base, else the first source.
            tasks.Add(new TensorTask
            {
                Output = first.Info with { Name = outputName },
                Action = TensorAction.Copy,
                CopySource = first,
                Note = $"not a float tensor: copied from {p.Ordered[0].Model.Spelled} {inputNames[0]}",
            });
            return;
        }
        var parameters = SliceParameters.ForTensor(method, recipe, p.Slice, p.Ordered, p.HasBase, outputName, inputNames, t);
        tasks.Add(TensorTask.Merge(method, parameters, p.HasBase, outputName, first.Shape, recipe.OutDType, first.DType,
            outLayer, layerCount, sources: refs, sourceInputs: p.InputIndices));
    }

    static string MapLine(PlannedSlice p, int firstOut)
    {
        string Range(int a, int n) => n == 1 ? $"{a}" : $"{a}-{a + n - 1}";
        var sources = string.Join(" + ", p.Ordered.Select((s, k) => $"{s.Model.Spelled} layers {Range(s.Start, s.Length)}{(k == 0 && p.HasBase ? " (base)" : "")}"));
        return $"layers {Range(firstOut, p.Length)} <- {sources}";
    }
}
