using System.Globalization;
using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.Durability;
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
/// run (<c>OUT/run-000/</c>: model.safetensors, soup-model.json, ingredient.json). Resumable through the sweep's
/// <see cref="UnitJournal"/> (<c>OUT/work/units.jsonl</c>): each run's <see cref="UnitFingerprint"/> covers its
/// hyperparameters, the digest of the common start, the digest of the training and held-out data and the logging
/// interval; a run whose ingredient.json (written last) carries that fingerprint is finished and recorded in the
/// journal, a half-written one is redone, and a finished run or start made with other settings is refused naming what
/// changed, rather than silently mixed in. A worker (<see cref="FineTuneSweepOptions.OnlyRun"/>) never opens the
/// journal: the client records the run when it sees the worker's ingredient.json.
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

    /// <summary>The journal of finished runs of the sweep in <paramref name="output"/>.</summary>
    public static string JournalPath(string output) => Path.Combine(output, WorkFolderName, UnitJournal.FileName);

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

        // The client keeps the journal; a worker (OnlyRun) never opens it (it may run on another node, see UnitJournal).
        using var journal = o.OnlyRun is null ? UnitJournal.Open(JournalPath(o.Out), "finetune") : null;
        var spec = PrepareInit(o, data, train, journal, progress, cancel);
        var initFolder = Path.Combine(o.Out, InitFolderName);
        InMemoryCheckpoint init;
        using (var opened = Checkpoint.Open(initFolder)) init = InMemoryCheckpoint.CopyOf(opened);

        // What determines every run's result besides its hyperparameters: the start it is trained from and the data.
        var common = new Dictionary<string, string>
        {
            ["start"] = UnitFingerprint.DigestOfContent(initFolder),
            ["train_data"] = train.ContentDigest(),
            ["heldout_data"] = heldOut.ContentDigest(),
            ["log_every"] = o.LogEvery.ToString(CultureInfo.InvariantCulture),
        };
        if (o.Executor is not null) return RunWithExecutor(o, common, journal!, progress, cancel);

        var results = new List<(string, IngredientRecord, bool)>();
        for (int i = 0; i < o.Runs.Count; i++)
        {
            var run = o.Runs[i];
            if (o.OnlyRun is not null && run.Name != o.OnlyRun) continue;
            var hp = HyperparametersOf(o, run);
            var folder = Path.Combine(o.Out, run.Name);
            var fingerprint = FingerprintOf(hp, common);
            if (Finished(o, run, fingerprint, journal) is { } done)
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
            var record = IngredientRecord.From(run.Name, hp, result) with { Fingerprint = fingerprint.Digest };
            ModuleFolder.Save(model, spec, folder, overwrite: true); // replaces a half-written attempt
            record.Write(folder); // last: the run's result file
            journal?.Record(run.Name, fingerprint); // after its outputs are in place
            progress?.Invoke(new SweepProgress(i, o.Runs.Count, run.Name, null, record, Done: true));
            results.Add((folder, record, false));
        }
        return results;
    }

    static TrainingHyperparameters HyperparametersOf(FineTuneSweepOptions o, SweepRun run) =>
        o.Steps is { } steps ? run.Hyperparameters with { Steps = steps } : run.Hyperparameters;

    /// <summary>A run's fingerprint: every hyperparameter (exactly, as JSON numbers) and what every run shares.</summary>
    static UnitFingerprint FingerprintOf(TrainingHyperparameters hp, IReadOnlyDictionary<string, string> common)
    {
        var settings = new Dictionary<string, string>(common);
        foreach (var (name, value) in JsonSerializer.SerializeToNode(hp)!.AsObject()) settings[name] = value?.ToJsonString() ?? "null";
        return new UnitFingerprint(settings);
    }

    /// <summary>
    /// The record of a finished run, or null when it is to be trained. The client decides through the journal
    /// (<see cref="UnitJournal.Decide"/>: a result with the current fingerprint is recorded and reused, one made with
    /// other settings refused); a worker (no journal) reuses only a result with the current fingerprint.
    /// </summary>
    static IngredientRecord? Finished(FineTuneSweepOptions o, SweepRun run, UnitFingerprint fingerprint, UnitJournal? journal)
    {
        var folder = Path.Combine(o.Out, run.Name);
        var hp = HyperparametersOf(o, run);
        if (IngredientRecord.TryRead(folder) is not { } done) return null;
        if (done.Hyperparameters != hp)
            throw new ModelSoupsException($"this run was trained with other hyperparameters ({done.Hyperparameters.Describe()}, now {hp.Describe()}); use another output folder", folder);
        if (journal is null) return done.Fingerprint == fingerprint.Digest ? done : null;
        // A record from before fingerprints (same hyperparameters, the start checked by init.json) counts as made with these settings.
        return journal.Decide(run.Name, fingerprint, done.Fingerprint ?? fingerprint.Digest, folder) ? done : null;
    }

    /// <summary>
    /// The runs as units of work: run R's result is <c>OUT/R/ingredient.json</c> (written last, atomically, by the
    /// worker running this sweep with <see cref="FineTuneSweepOptions.OnlyRun"/> = R). Finished runs are checked
    /// and reused as in the in-process path; the executor never runs a unit whose result exists; the client records
    /// each run in the journal when it sees the run's result with the current fingerprint.
    /// </summary>
    static IReadOnlyList<(string Folder, IngredientRecord Record, bool Skipped)> RunWithExecutor(FineTuneSweepOptions o, IReadOnlyDictionary<string, string> common,
        UnitJournal journal, Action<SweepProgress>? progress, CancellationToken cancel)
    {
        var fingerprints = o.Runs.Select(r => FingerprintOf(HyperparametersOf(o, r), common)).ToList();
        var before = o.Runs.Select((r, i) => Finished(o, r, fingerprints[i], journal) is not null).ToArray();
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
            var record = Finished(o, o.Runs[i], fingerprints[i], journal) ?? throw new ModelSoupsException("the worker reported this run finished but its ingredient.json is missing", folder);
            progress?.Invoke(new SweepProgress(i, o.Runs.Count, o.Runs[i].Name, null, record, Skipped: before[i], Done: true));
            results.Add((folder, record, before[i]));
        }
        return results;
    }

    /// <summary>Creates (or, when made with the same settings, reuses) <c>OUT/_init</c>; returns the model spec.</summary>
    static ModelSpec PrepareInit(FineTuneSweepOptions o, DatasetSplits data, ImageDataset train, UnitJournal? journal, Action<SweepProgress>? progress, CancellationToken cancel)
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
        // What the start is made from, by content and not only by name: the training images, the model file(s).
        settings["train_data"] = train.ContentDigest();
        if (fromCheckpoint) settings["model_content"] = UnitFingerprint.DigestOfContent(o.Model);
        var fingerprint = new UnitFingerprint(settings);
        var description = JsonSerializer.Serialize(settings, new JsonSerializerOptions { WriteIndented = true });

        if (StartIsMade(folder, fingerprint, journal))
        {
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
        journal?.Record(InitFolderName, fingerprint);
        progress?.Invoke(new SweepProgress(-1, o.Runs.Count, InitFolderName, null, Done: true));
        return spec;
    }

    /// <summary>
    /// Whether the common start in <paramref name="folder"/> was made with <paramref name="fingerprint"/>'s settings: its
    /// <c>init.json</c> (the start's result file, written inside its atomic folder) holds the settings it was made with.
    /// True when they are these (the start is then recorded in <paramref name="journal"/> if it was not yet), false when
    /// there is no start yet; a start made with other settings is refused, naming what changed. An init.json of an older
    /// soup, without the <c>train_data</c> digest, counts as these settings when everything it holds agrees (what those
    /// versions checked).
    /// </summary>
    /// <exception cref="ModelSoupsException">The start was made with other settings, or its init.json is not readable.</exception>
    public static bool StartIsMade(string folder, UnitFingerprint fingerprint, UnitJournal? journal)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var existing = Path.Combine(folder, InitFileName);
        if (!File.Exists(existing)) return false;
        var stored = StoredInitSettings(existing);
        bool legacy = !stored.ContainsKey("train_data") && stored.All(kv => fingerprint.Settings.GetValueOrDefault(kv.Key) == kv.Value);
        var made = legacy ? fingerprint : new UnitFingerprint(stored);
        if (made.Digest != fingerprint.Digest)
            throw new ModelSoupsException($"the common start here was made with other settings ({made.DifferenceFrom(fingerprint)}); use another output folder", folder);
        journal?.Decide(InitFolderName, fingerprint, made.Digest, folder);
        return true;
    }

    /// <summary>The settings an existing <c>init.json</c> records.</summary>
    static Dictionary<string, string> StoredInitSettings(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? throw new JsonException("null");
        }
        catch (JsonException)
        {
            throw new ModelSoupsException($"{InitFileName} is not a JSON object of settings; delete the {InitFolderName} folder to make the start again", path);
        }
    }
}
