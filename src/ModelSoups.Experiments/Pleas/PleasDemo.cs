using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Durability;
using ModelSoups.Pleas;
using ModelSoups.Reports;
using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;

namespace ModelSoups.Experiments.Pleas;

/// <summary>
/// <c>soup demo --pleas</c>: the PLeaS experiment on Fashion-MNIST. Two pairs of models of one architecture, each
/// model trained from its own random initialisation (and data order): (1) both on all 10 classes — shared label
/// space; (2) A on classes 0–4, B on 5–9 — different label spaces. For each pair <see cref="PleasMerge"/> measures the
/// originals, their ensemble, naive averaging, permute-then-average (weight and activation matching) and PLeaS at
/// budgets 1.0, 1.25, 1.5, 2.0 on the test split, and the report shows accuracy against merged size. Both pairs are
/// run for each architecture (default: the MLP, and the small CNN whose BatchNorm statistics are recomputed after merging).
/// Trained models are kept under <c>DIR/pleas/ARCH/models/</c> and reused when their <c>training.json</c> carries the
/// fingerprint of unchanged settings (recorded in <c>DIR/pleas/ARCH/work/units.jsonl</c>).
/// </summary>
public static class PleasDemo
{
    /// <summary>Sub-folder of the demo folder.</summary>
    public const string FolderName = "pleas";

    /// <summary>Runs both pairs; <paramref name="progress"/> receives one line per stage.</summary>
    public static IReadOnlyList<PleasResults> Run(PleasDemoOptions o, Action<string>? progress = null, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        TorchRuntime.UseAllCores();
        var data = DatasetSplits.Load(o.Data);
        if (data.Train.Classes <= o.SplitClass) throw new ModelSoupsException($"the data has {data.Train.Classes} classes; the split pair needs more than {o.SplitClass}", o.Data);
        var test = data.Test ?? data.HeldOut;
        if (o.EvaluationLimit is { } limit) test = test.Sample(limit, DatasetSplits.DefaultSplitSeed);
        string testName = $"{data.Description} {(data.Test is null ? "held-out" : "test")} ({test.Count} images)";
        var folder = Path.Combine(o.Out, FolderName);
        var lowTrain = Relabel(data.Train, 0, o.SplitClass);
        var highTrain = Relabel(data.Train, o.SplitClass, data.Train.Classes - o.SplitClass);
        var lowHeld = Relabel(data.HeldOut, 0, o.SplitClass);
        var highHeld = Relabel(data.HeldOut, o.SplitClass, data.Train.Classes - o.SplitClass);
        var runs = new List<PleasResults>();
        foreach (var architecture in o.Architectures)
        {
            var models = Path.Combine(folder, architecture, "models");
            Directory.CreateDirectory(models);
            // Each trained model is a unit: training.json (inside the model's atomic folder) carries its fingerprint, and
            // DIR/pleas/ARCH/work/units.jsonl records it once seen.
            string a, b, low, high;
            using (var units = UnitJournal.Open(Path.Combine(folder, architecture, WorkFolder, UnitJournal.FileName), "pleas-demo-models"))
            {
                a = Train(o, architecture, "a", data.Train, data.HeldOut, initSeed: 1, models, units, progress, cancel);
                b = Train(o, architecture, "b", data.Train, data.HeldOut, initSeed: 2, models, units, progress, cancel);
                low = Train(o, architecture, "classes-low", lowTrain, lowHeld, initSeed: 3, models, units, progress, cancel);
                high = Train(o, architecture, "classes-high", highTrain, highHeld, initSeed: 4, models, units, progress, cancel);
            }
            foreach (var (title, ma, mb, space, sub) in new[]
                     {
                         ($"{architecture}, shared label space: two models from different random initialisations", a, b, LabelSpace.Shared, "shared"),
                         ($"{architecture}, different label spaces: classes 0–{o.SplitClass - 1} vs {o.SplitClass}–{data.Train.Classes - 1}", low, high, LabelSpace.Separate, "separate"),
                     })
            {
                progress?.Invoke($"{architecture} {sub}: PLeaS and baselines");
                runs.Add(PleasMerge.Run(new PleasOptions
                {
                    ModelA = ma, ModelB = mb, Train = data.Train, Evaluation = test, EvaluationDescription = testName,
                    Out = Path.Combine(folder, architecture, sub), Budgets = o.Budgets, Samples = o.Samples, LabelSpace = space,
                    Title = title, Overwrite = true,
                }, line => progress?.Invoke($"{architecture} {sub}: {line}"), cancel));
            }
        }
        PleasReport.Write(folder, runs);
        DemoReports.RefreshMain(o.Out);   // a main demo's report in DIR gains the PLeaS sections
        progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"done in {clock.Elapsed.TotalSeconds:0} s"));
        return runs;
    }

    /// <summary>The <c>pleas.json</c> of every pair a demo run wrote under <paramref name="demoFolder"/> (none when it did not run).</summary>
    public static IReadOnlyList<PleasResults> ReadResults(string demoFolder)
    {
        var root = Path.Combine(demoFolder, FolderName);
        if (!Directory.Exists(root)) return [];
        return Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal)
            .SelectMany(arch => new[] { "shared", "separate" }.Select(sub => Path.Combine(arch, sub, PleasResults.FileName)))
            .Where(File.Exists).Select(PleasResults.Read).ToList();
    }

    /// <summary>The examples with labels in [first, first + count), relabelled to 0 … count − 1.</summary>
    public static ImageDataset Relabel(ImageDataset data, int first, int count)
    {
        var indices = Enumerable.Range(0, data.Count).Where(i => data.Labels[i] >= first && data.Labels[i] < first + count).ToArray();
        var subset = data.Subset(indices);
        var labels = subset.Labels.Select(l => (byte)(l - first)).ToArray();
        return subset.IsFloat
            ? new ImageDataset(subset.Values!, labels, subset.Channels, subset.Height, subset.Width, count, data.Source)
            : new ImageDataset(subset.Pixels, labels, subset.Channels, subset.Height, subset.Width, count, data.Source);
    }

    /// <summary>The work folder inside <c>DIR/pleas/ARCH/</c> (the journal of trained models).</summary>
    public const string WorkFolder = "work";
    /// <summary>A trained model's result file, inside its folder: <c>{"fingerprint": digest, "settings": {…}}</c>.</summary>
    public const string TrainingFileName = "training.json";

    /// <summary>
    /// Trains (or reuses) one model from its own initialisation seed; returns its folder. Reused when its
    /// <c>training.json</c> carries the fingerprint of these settings (the architecture, every hyperparameter, the seed,
    /// the training and held-out images' content); made with other settings (another preset), it is trained again,
    /// the demo folder being a cache of the demo's own runs.
    /// </summary>
    static string Train(PleasDemoOptions o, string architecture, string name, ImageDataset train, ImageDataset heldOut, long initSeed, string models,
        UnitJournal units, Action<string>? progress, CancellationToken cancel)
    {
        var spec = ModelSpec.ForArchitecture(architecture, train.Classes, train.Channels, Math.Max(train.Height, train.Width));
        if (spec.Architecture == ModelSpec.MlpName) spec = spec with { Hidden = o.Hidden };
        var hp = new TrainingHyperparameters
        {
            Optimizer = "adamw", LearningRate = 2e-3, WeightDecay = 1e-4, Steps = spec.Architecture == ModelSpec.Cnn ? o.CnnSteps : o.Steps, BatchSize = o.BatchSize,
            Schedule = "cosine", Warmup = 0.05, DataSeed = (ulong)initSeed,
        };
        var folder = Path.Combine(models, name);
        var heldOutSample = heldOut.Sample(Math.Min(2000, heldOut.Count), DatasetSplits.DefaultSplitSeed);
        var fingerprint = new UnitFingerprint(new Dictionary<string, string>
        {
            ["spec"] = spec.ToJson(),
            ["hyperparameters"] = JsonSerializer.Serialize(hp),
            ["init_seed"] = initSeed.ToString(CultureInfo.InvariantCulture),
            ["train_data"] = train.ContentDigest(),
            ["heldout_data"] = heldOutSample.ContentDigest(),
        });
        var done = RecordedDigest(Path.Combine(folder, TrainingFileName));
        if (done == fingerprint.Digest && units.Decide(name, fingerprint, done, folder)) return folder;
        progress?.Invoke($"training {name}: {spec.Describe()}, {hp.Describe()}, init seed {initSeed}, {train.Count} images"
            + (done is null ? "" : " (its earlier model was made with other settings)"));
        manual_seed(initSeed);
        using var model = spec.Create();
        var result = FineTune.Run(model, spec, train, heldOutSample, hp, 50, cancel: cancel);
        progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"trained {name}: held-out {result.HeldOut:P2} in {result.Seconds:0} s"));
        var info = new JsonObject { ["fingerprint"] = fingerprint.Digest, ["settings"] = fingerprint.ToJson() };
        ModuleFolder.Save(model, spec, folder, new Dictionary<string, string> { [TrainingFileName] = info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) }, overwrite: true);
        units.Record(name, fingerprint);   // after the model folder is in place
        return folder;
    }

    /// <summary>The fingerprint digest a model's <c>training.json</c> carries; null without the file, empty for one this demo cannot read (made by an older version: the model is trained again).</summary>
    static string? RecordedDigest(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) is JsonObject o && o["fingerprint"] is JsonValue v && v.TryGetValue(out string? digest) ? digest : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }
}
