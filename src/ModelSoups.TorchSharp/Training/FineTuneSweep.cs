using System.Globalization;
using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// Produces a soup's ingredients: one common starting point (<c>OUT/_init/</c>: the pretrained model with a
/// linear-probed head, as Wortsman et al. 2022 do, or a seeded fresh model) and one fine-tuned folder per sweep
/// run (<c>OUT/run-000/</c>: model.safetensors, soup-model.json, ingredient.json). Resumable: a run whose
/// ingredient.json exists is skipped, a half-written one is redone; a finished run or start trained with other
/// settings is refused rather than silently mixed in.
/// </summary>
public static class FineTuneSweep
{
    /// <summary>Folder name of the common start.</summary>
    public const string InitFolderName = "_init";
    /// <summary>Description of how the start was made, inside <c>_init/</c>.</summary>
    public const string InitFileName = "init.json";
    /// <summary>Folder of executor state (scripts, logs, job records) inside the output.</summary>
    public const string WorkFolderName = "work";
    /// <summary>Default linear-probe steps for the pretrained ResNet.</summary>
    public const int DefaultLinearProbeSteps = 200;

    /// <summary>Runs the sweep; returns each run's folder and record, in sweep order.</summary>
    public static IReadOnlyList<(string Folder, IngredientRecord Record, bool Skipped)> Run(FineTuneSweepOptions o,
        Action<SweepProgress>? progress = null, CancellationToken cancel = default)
    {
        if (o.Runs.Count == 0) throw new ModelSoupsException("the sweep has no runs");
        if (o.Subset is < 1) throw new ModelSoupsException("--subset must be at least 1");
        if (o.Steps is < 1) throw new ModelSoupsException("--steps must be at least 1");
        if (o.LinearProbeSteps is < 0) throw new ModelSoupsException("--linear-probe-steps must not be negative");
        var names = o.Runs.Select(r => r.Name).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count || names.Any(n => n is InitFolderName or WorkFolderName || n != Path.GetFileName(n)))
            throw new ModelSoupsException("run names must be distinct plain folder names other than _init and work");
        if (o.OnlyRun is { } only && !names.Contains(only)) throw new ModelSoupsException($"the sweep has no run named '{only}'");
        if (o.Executor is not null && o.WorkerArguments is null) throw new ArgumentException("an executor needs WorkerArguments", nameof(o));
        if (o.OnlyRun is not null && !File.Exists(Path.Combine(o.Out, InitFolderName, InitFileName)))
            throw new ModelSoupsException("the common start (_init) is missing: a worker trains one run from the start its client made; rerun the whole sweep", Path.Combine(o.Out, InitFolderName));
        o.Executor?.CheckFolder(Path.GetFullPath(o.Out));
        TorchRuntime.UseAllCores();

        var data = DatasetSplits.Load(o.Data);
        var train = o.Subset is { } n ? data.Train.Sample(n, DatasetSplits.DefaultSplitSeed) : data.Train;
        var heldOut = o.Subset is { } m ? data.HeldOut.Sample(m, DatasetSplits.DefaultSplitSeed) : data.HeldOut;
        Directory.CreateDirectory(o.Out);

        var spec = PrepareInit(o, data, train, progress, cancel);
        var initFolder = Path.Combine(o.Out, InitFolderName);
        InMemoryCheckpoint init;
        using (var opened = Checkpoint.Open(initFolder)) init = InMemoryCheckpoint.CopyOf(opened);

        if (o.Executor is not null) return RunWithExecutor(o, progress, cancel);

        var results = new List<(string, IngredientRecord, bool)>();
        for (int i = 0; i < o.Runs.Count; i++)
        {
            var run = o.Runs[i];
            if (o.OnlyRun is not null && run.Name != o.OnlyRun) continue;
            var hp = HyperparametersOf(o, run);
            var folder = Path.Combine(o.Out, run.Name);
            if (Finished(o, run) is { } done)
            {
                progress?.Invoke(new SweepProgress(i, o.Runs.Count, run.Name, null, done, Skipped: true, Done: true));
                results.Add((folder, done, true));
                continue;
            }
            progress?.Invoke(new SweepProgress(i, o.Runs.Count, run.Name, null));
            using var model = spec.Create();
            ModuleState.Load(model, init);
            var result = FineTune.Run(model, spec, train, heldOut, hp, o.LogEvery,
                p => progress?.Invoke(new SweepProgress(i, o.Runs.Count, run.Name, p)), cancel);
            var record = IngredientRecord.From(run.Name, hp, result);
            ModuleFolder.Save(model, spec, folder, overwrite: true); // replaces a half-written attempt
            record.Write(folder); // last: marks the run finished
            progress?.Invoke(new SweepProgress(i, o.Runs.Count, run.Name, null, record, Done: true));
            results.Add((folder, record, false));
        }
        return results;
    }

    static TrainingHyperparameters HyperparametersOf(FineTuneSweepOptions o, SweepRun run) =>
        o.Steps is { } steps ? run.Hyperparameters with { Steps = steps } : run.Hyperparameters;

    /// <summary>The record of a finished run (checked to be the same run), or null.</summary>
    static IngredientRecord? Finished(FineTuneSweepOptions o, SweepRun run)
    {
        var folder = Path.Combine(o.Out, run.Name);
        var hp = HyperparametersOf(o, run);
        if (IngredientRecord.TryRead(folder) is not { } done) return null;
        if (done.Hyperparameters != hp)
            throw new ModelSoupsException($"this run was trained with other hyperparameters ({done.Hyperparameters.Describe()}, now {hp.Describe()}); use another output folder", folder);
        return done;
    }

    /// <summary>
    /// The runs as units of work: run R's result is <c>OUT/R/ingredient.json</c> (written last, atomically, by the
    /// worker running this sweep with <see cref="FineTuneSweepOptions.OnlyRun"/> = R). Finished runs are checked
    /// and reused as in the in-process path; the executor never runs a unit whose result exists.
    /// </summary>
    static IReadOnlyList<(string Folder, IngredientRecord Record, bool Skipped)> RunWithExecutor(FineTuneSweepOptions o, Action<SweepProgress>? progress, CancellationToken cancel)
    {
        var before = o.Runs.Select(r => Finished(o, r) is not null).ToArray();
        var cwd = Environment.CurrentDirectory;
        var units = o.Runs.Select(r => new Execution.WorkUnit
        {
            Id = r.Name,
            Arguments = o.WorkerArguments!(r),
            ResultFile = Path.GetFullPath(Path.Combine(o.Out, r.Name, IngredientRecord.FileName)),
            WorkingDirectory = cwd,
        }).ToList();
        var report = o.Executor!.Run(units, new Execution.ExecutionBatch("finetune", Path.GetFullPath(Path.Combine(o.Out, WorkFolderName))), o.ExecutionProgress, cancel);
        report.ThrowUnlessAllDone($"rerun the same command (or soup status {Path.GetFullPath(o.Out)}) to follow them");
        var results = new List<(string, IngredientRecord, bool)>();
        for (int i = 0; i < o.Runs.Count; i++)
        {
            var folder = Path.Combine(o.Out, o.Runs[i].Name);
            var record = Finished(o, o.Runs[i]) ?? throw new ModelSoupsException("the worker reported this run finished but its ingredient.json is missing", folder);
            progress?.Invoke(new SweepProgress(i, o.Runs.Count, o.Runs[i].Name, null, record, Skipped: before[i], Done: true));
            results.Add((folder, record, before[i]));
        }
        return results;
    }

    /// <summary>Creates (or, when made with the same settings, reuses) <c>OUT/_init</c>; returns the model spec.</summary>
    static ModelSpec PrepareInit(FineTuneSweepOptions o, DatasetSplits data, ImageDataset train, Action<SweepProgress>? progress, CancellationToken cancel)
    {
        var folder = Path.Combine(o.Out, InitFolderName);
        bool fromCheckpoint = ModelSpec.IsPath(o.Model);
        int probeSteps = o.LinearProbeSteps ?? (o.Model == ModelSpec.ResNet18 ? DefaultLinearProbeSteps : 0);
        var settings = new SortedDictionary<string, string>
        {
            ["model"] = fromCheckpoint ? Path.GetFullPath(o.Model) : o.Model,
            ["data"] = data.Description,
            ["subset"] = o.Subset?.ToString(CultureInfo.InvariantCulture) ?? "all",
            ["image_size"] = o.ImageSize?.ToString(CultureInfo.InvariantCulture) ?? "default",
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["linear_probe_steps"] = probeSteps.ToString(CultureInfo.InvariantCulture),
        };
        if (o.RecalibrateBeforeProbe > 0) settings["recalibrate_before_probe"] = o.RecalibrateBeforeProbe.ToString(CultureInfo.InvariantCulture);
        var description = JsonSerializer.Serialize(settings, new JsonSerializerOptions { WriteIndented = true });

        var existing = Path.Combine(folder, InitFileName);
        if (File.Exists(existing))
        {
            if (File.ReadAllText(existing) != description)
                throw new ModelSoupsException($"the common start here was made with other settings (see {InitFileName}); use another output folder", folder);
            progress?.Invoke(new SweepProgress(-1, o.Runs.Count, InitFolderName, null, Skipped: true, Done: true));
            return ModelSpec.Read(folder);
        }

        progress?.Invoke(new SweepProgress(-1, o.Runs.Count, InitFolderName, null));
        nn.Module<Tensor, Tensor> model;
        ModelSpec spec;
        manual_seed(unchecked((long)o.Seed));
        if (fromCheckpoint)
        {
            (model, spec) = ModuleFolder.Load(o.Model);
            if (o.ImageSize is { } size && size != spec.ImageSize)
                throw new ModelSoupsException($"the checkpoint's model takes {spec.ImageSize} px images; --image-size {size} cannot change that", o.Model);
        }
        else
        {
            spec = ModelSpec.ForArchitecture(o.Model, data.Train.Classes, data.Train.Channels, Math.Max(data.Train.Height, data.Train.Width), o.ImageSize);
            model = spec.Create();
        }
        if (spec.Classes != data.Train.Classes || spec.Channels != data.Train.Channels)
            throw new ModelSoupsException($"the model ({spec.Describe()}) does not fit the data ({data.Train.Classes} classes, {data.Train.Channels} channel(s))", o.Model);
        using (model)
        {
            if (o.RecalibrateBeforeProbe > 0)
                BatchNormRecalibration.Run(model, train, o.RecalibrateBeforeProbe, 64, o.Seed, spec.Prepare);
            if (probeSteps > 0)
                LinearProbe.Fit(model, spec, train, probeSteps, seed: o.Seed,
                    progress: p => progress?.Invoke(new SweepProgress(-1, o.Runs.Count, InitFolderName, p)), cancel: cancel);
            ModuleFolder.Save(model, spec, folder, new Dictionary<string, string> { [InitFileName] = description }, overwrite: true);
        }
        progress?.Invoke(new SweepProgress(-1, o.Runs.Count, InitFolderName, null, Done: true));
        return spec;
    }
}
