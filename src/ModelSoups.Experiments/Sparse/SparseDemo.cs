using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Durability;
using ModelSoups.Reports;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Runtime;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;

using ModelSoups.TorchSharp.Sparse;

namespace ModelSoups.Experiments.Sparse;

/// <summary>
/// The Sparse Model Soups demo on the main demo's data (Fashion-MNIST): train a dense <see cref="SmallCnn"/>
/// (<c>DIR/sparse/dense/</c>, reused when <c>DIR/sparse/work/journal.jsonl</c> records it for the same settings), then run <see cref="SparseSoup"/> to 90 %
/// sparsity in 3 phases with 4 ingredients varying the data seed (default; resumable by phase, a phase made with other
/// settings made again) and write <c>DIR/sparse/results.json</c>,
/// <c>report.md</c>, <c>report.html</c> (and the main demo's report again, with the sparse section, when it ran into <c>DIR</c>).
/// Why the SmallCnn (width 16, two conv + BatchNorm blocks, 5.1 k prunable weights): on 2 shared cores it trains at
/// ≈ 0.2 s per 64-image step, while the ImageNet ResNet-18 at 32 px needs ≈ 48 s per 1 000 images, so the 15 retrains
/// of the default run would take hours; it has Conv and Linear weights to prune and BatchNorm to recalibrate, the parts
/// of SMS a plain MLP would skip. Default: dense 800 steps, 150 steps per retrain (batch 64, AdamW, peak lr 3e-3, linear
/// warm-up 10 % then linear decay; IMP's retrain as long as all ingredients' together), 2 000 scored images per split,
/// 20 recalibration batches, OOD from the soups demo's five corruptions: measured 150 s on the idle 2-core machine
/// (386 s under load, with the shorter IMP). Quick: dense 200 steps, 3 phases of 2 ingredients, 40 steps per retrain,
/// 1 000 images, 5 batches: measured 22 s on the idle machine (see docs/sparse.md).
/// </summary>
public static class SparseDemo
{
    /// <summary>Sub-folder of the demo folder.</summary>
    public const string FolderName = "sparse";
    /// <summary>The dense model's folder inside it.</summary>
    public const string DenseFolderName = "dense";
    /// <summary>Work folder inside it (the journal).</summary>
    public const string WorkFolderName = "work";
    /// <summary>The demo's <see cref="Journal"/> of finished stages, in the work folder.</summary>
    public const string JournalFileName = "journal.jsonl";
    const string DenseInfoFile = "dense.json", DenseKey = "dense";

    static string? ValidateEntry(string key, JsonObject value) =>
        key != DenseKey ? $"unknown key '{key}'"
        : value["folder"] is JsonValue f && f.TryGetValue(out string? name) && name == DenseFolderName ? null
        : "the dense entry names no folder";

    /// <summary>Runs the demo; <paramref name="progress"/> gets the dense training (phase 0) and the sparse run.</summary>
    public static SparseDemoResult Run(SparseDemoOptions o, Action<SparseProgress>? progress = null, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        TorchRuntime.UseAllCores();
        bool quick = o.Quick;
        int batch = o.BatchSize ?? 64;
        var data = DatasetSplits.Load(o.Data);
        var folder = Path.Combine(o.Out, FolderName);
        Directory.CreateDirectory(folder);

        // ---- the dense model to sparsify -------------------------------------------------------------
        var dense = new TrainingHyperparameters
        {
            Optimizer = "adamw", LearningRate = 3e-3, WeightDecay = 1e-4, Steps = o.DenseSteps ?? (quick ? 200 : 800),
            BatchSize = batch, Schedule = "cosine", Warmup = 0.05, DataSeed = 0,
        };
        var spec = ModelSpec.ForArchitecture(ModelSpec.Cnn, data.Train.Classes, data.Train.Channels, Math.Max(data.Train.Height, data.Train.Width));
        var denseFolder = Path.Combine(folder, DenseFolderName);
        var denseInfo = JsonSerializer.Serialize(new { data = data.Description, spec = spec.Describe(), hyperparameters = dense.Describe(), init_seed = 0 });
        // Resume: the journal records the finished dense model for exactly these settings (other settings: it is set aside
        // and the model trained again); an entry whose folder was removed since is started over too.
        var journalPath = Path.Combine(folder, WorkFolderName, JournalFileName);
        var fingerprint = new JsonObject { ["kind"] = "sparse-demo", ["dense"] = denseInfo };
        var journal = Journal.OpenOrReplace(journalPath, fingerprint, ValidateEntry, out bool _);
        if (journal.Entries.ContainsKey(DenseKey) && !File.Exists(Path.Combine(denseFolder, DenseInfoFile)))
        {
            journal.Dispose();
            File.Delete(journalPath);
            journal = Journal.Open(journalPath, fingerprint, ValidateEntry);
        }
        using var openJournal = journal;
        if (!journal.Entries.ContainsKey(DenseKey))
        {
            progress?.Invoke(new SparseProgress(0, 0, "dense", "dense", Message: $"training the dense {spec.Describe()} for {dense.Steps} steps"));
            manual_seed(0);
            using var model = spec.Create();
            var heldOut = data.HeldOut.Sample(o.EvaluationLimit ?? (quick ? 1000 : 2000), DatasetSplits.DefaultSplitSeed);
            var trained = FineTune.Run(model, spec, data.Train, heldOut, dense, 10,
                s => progress?.Invoke(new SparseProgress(0, 0, "retrain", "dense", s)), cancel);
            progress?.Invoke(new SparseProgress(0, 0, "scored", "dense", Row: new SparseRow("dense", trained.HeldOut, null, null)));
            ModuleFolder.Save(model, spec, denseFolder, new Dictionary<string, string> { [DenseInfoFile] = denseInfo }, overwrite: true);
            journal.Append(DenseKey, new JsonObject { ["folder"] = DenseFolderName, ["heldout"] = trained.HeldOut });
        }

        // ---- Sparse Model Soups and IMP ----------------------------------------------------------------
        var result = SparseSoup.Run(new SparseSoupOptions
        {
            Base = denseFolder,
            Data = data,
            Out = folder,
            Sparsity = o.Sparsity ?? 0.9,
            Phases = o.Phases ?? 3,
            Ingredients = o.Ingredients ?? (quick ? 2 : 4),
            Vary = "data_seed",
            Retrain = new TrainingHyperparameters
            {
                Optimizer = "adamw", LearningRate = 3e-3, WeightDecay = 1e-4, Steps = o.RetrainSteps ?? (quick ? 40 : 150),
                BatchSize = batch, Schedule = "linear", Warmup = 0.1, DataSeed = 0,
            },
            Merge = SparseSoupMerge.Uniform,
            RecalibrationBatches = o.RecalibrationBatches ?? (quick ? 5 : 20),
            EvaluationLimit = o.EvaluationLimit ?? (quick ? 1000 : 2000),
            Scorer = o.Scorer,
            // The demo folder is a cache of the demo's own runs: a phase made with other settings (another preset) is made again.
            Resume = SparseResume.RedoChanged,
        }, progress, cancel);
        SparseReport.Write(folder, result);
        // When a main demo already ran into this folder, its report gains the sparse section.
        DemoReports.RefreshMain(o.Out);
        return new SparseDemoResult(result, folder, SparseReport.Markdown(result), SparseReport.Html(result), clock.Elapsed.TotalSeconds);
    }
}
