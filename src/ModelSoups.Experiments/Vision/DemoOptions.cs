using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;

namespace ModelSoups.Experiments.Vision;

/// <summary>
/// Settings of <see cref="SoupsDemo.Run"/>: data, model, sweep and evaluation sizes. The three presets are
/// <see cref="Quick"/>, <see cref="Default"/> and <see cref="Full"/>; sizes were chosen from measured CPU speeds
/// (ResNet-18 at 32 px on 2 cores: ≈ 6–40 ms per training image, ≈ 2 s per 1000 evaluated) so the presets fit
/// their time boxes, and the learning-rate range, training-set size and epochs from held-out probes only, never
/// from test or OOD results (see docs/demo.md, "How the settings were chosen").
/// </summary>
public sealed record DemoOptions
{
    /// <summary>Output folder: ingredients/, soups/, work/, results.json, report.html.</summary>
    public required string Out { get; init; }
    /// <summary>Preset name, recorded in the results.</summary>
    public string Preset { get; init; } = "custom";
    /// <summary><c>fashion-mnist</c> or a dataset folder with train.safetensors and test.safetensors.</summary>
    public string Data { get; init; } = DatasetSplits.FashionMnistName;
    /// <summary>Install Fashion-MNIST with apt-get when it is missing and this process may (root, Debian/Ubuntu).</summary>
    public bool InstallData { get; init; } = true;
    /// <summary>Architecture (<c>resnet18-imagenet</c>, <c>cnn</c>, <c>mlp</c>).</summary>
    public string Architecture { get; init; } = ModelSpec.ResNet18;
    /// <summary>Model input side (null: the architecture's default).</summary>
    public int? ImageSize { get; init; }
    /// <summary>Number of fine-tuned ingredients.</summary>
    public int Ingredients { get; init; } = 8;
    /// <summary>Training images (seeded sample of the training part; null: all of it).</summary>
    public int? TrainImages { get; init; } = 3200;
    /// <summary>Epoch counts the sweep cycles through (run i trains <c>Epochs[i % n]</c> epochs), so the total cost is fixed.</summary>
    public IReadOnlyList<int> Epochs { get; init; } = [1];
    /// <summary>Fine-tuning batch size.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Learning rates are drawn log-uniformly from this range.</summary>
    public (double Min, double Max) LearningRate { get; init; } = (1e-4, 4e-4);
    /// <summary>
    /// Augmentation strengths the sweep chooses from (see <c>AugmentationStrength</c>). Default none: in the held-out
    /// probes the 1-epoch runs with augmentation 0.5–1 were the weakest and left the basin the others share
    /// (docs/demo.md, probe F); <see cref="Full"/>, with longer runs, keeps {0, 0.5, 1}.
    /// </summary>
    public IReadOnlyList<double> Augmentations { get; init; } = [0];
    /// <summary>Linear-probe steps that fit the new head before fine-tuning (the common start).</summary>
    public int LinearProbeSteps { get; init; } = 200;
    /// <summary>Held-out images the soups choose on (null: all).</summary>
    public int? HeldOutImages { get; init; } = 800;
    /// <summary>Test images (null: all).</summary>
    public int? TestImages { get; init; } = 1000;
    /// <summary>Images per distribution shift (a prefix of the test sample; null: all of it).</summary>
    public int? ShiftImages { get; init; } = 400;
    /// <summary>Corruption severity of the shifts (1..5).</summary>
    public int Severity { get; init; } = ShiftEvaluationSets.DefaultSeverity;
    /// <summary>BatchNorm recalibration batches (and their size) for every averaged model.</summary>
    public int RecalibrateBatches { get; init; } = 8;
    /// <summary>Batch size of the recalibration.</summary>
    public int RecalibrateBatchSize { get; init; } = 64;
    /// <summary>Learned-soup epochs over its held-out sample (0: no learned soup).</summary>
    public int LearnedSoupEpochs { get; init; } = 2;
    /// <summary>Held-out images the learned soup is fitted on (a sample of the held-out set; null: all of it).</summary>
    public int? LearnedSoupImages { get; init; } = 500;
    /// <summary>Learned-soup batch size.</summary>
    public int LearnedSoupBatchSize { get; init; } = 64;
    /// <summary>Seed of the sweep, the head, the samples and the corruption noise.</summary>
    public ulong Seed { get; init; }

    /// <summary><c>soup demo --quick</c>: 4 short runs on small samples, about 3 minutes on 2 cores.</summary>
    public static DemoOptions Quick(string output) => new()
    {
        Out = output, Preset = "quick", Ingredients = 4, TrainImages = 256, Epochs = [1, 2], LinearProbeSteps = 100,
        HeldOutImages = 300, TestImages = 300, ShiftImages = 200, RecalibrateBatches = 4, LearnedSoupEpochs = 1, LearnedSoupImages = 256,
    };

    /// <summary><c>soup demo</c>: 8 runs, at most 15 minutes on 2 cores.</summary>
    public static DemoOptions Default(string output) => new() { Out = output, Preset = "default" };

    /// <summary><c>soup demo --full</c>: the whole training set, 12 runs, every held-out and test image (hours on a CPU).</summary>
    public static DemoOptions Full(string output) => new()
    {
        Out = output, Preset = "full", Ingredients = 12, TrainImages = null, Epochs = [1, 2, 3], BatchSize = 64,
        HeldOutImages = null, TestImages = null, ShiftImages = null, RecalibrateBatches = 20, RecalibrateBatchSize = 128,
        LearnedSoupEpochs = 3, LearnedSoupImages = null, LearnedSoupBatchSize = 128, Augmentations = [0, 0.5, 1],
    };
}
