namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// A dataset as training, evaluation and soups see it: the training part of the training set, the
/// held-out part (ingredients are chosen on it and never trained on it), and the test set when there is one.
/// </summary>
/// <param name="Train">Fine-tuning data.</param>
/// <param name="HeldOut">Held-out part of the training set (Wortsman et al. 2022 hold out 2 % of ImageNet train).</param>
/// <param name="Test">The separate test set, or null when the source has none.</param>
/// <param name="Description">Stable description (source, split fraction and seed) for evaluator fingerprints.</param>
public sealed record DatasetSplits(ImageDataset Train, ImageDataset HeldOut, ImageDataset? Test, string Description)
{
    /// <summary>Held-out fraction used unless told otherwise: 10 % (6 000 of Fashion-MNIST's 60 000 training images).</summary>
    public const double DefaultHeldOutFraction = 0.1;

    /// <summary>Seed of the held-out split used unless told otherwise; every command uses the same split.</summary>
    public const ulong DefaultSplitSeed = 0;

    /// <summary>Name of the built-in Fashion-MNIST source.</summary>
    public const string FashionMnistName = "fashion-mnist";

    /// <summary>File names inside a dataset folder.</summary>
    public const string TrainFileName = "train.safetensors", TestFileName = "test.safetensors";

    /// <summary>
    /// Loads <paramref name="source"/>: <c>fashion-mnist</c> (the Debian package's files), a folder with
    /// <c>train.safetensors</c> (and optionally <c>test.safetensors</c>), or one <c>.safetensors</c> file
    /// (training data only), then splits the training data deterministically.
    /// </summary>
    public static DatasetSplits Load(string source, double heldOutFraction = DefaultHeldOutFraction, ulong splitSeed = DefaultSplitSeed)
    {
        ImageDataset train;
        ImageDataset? test = null;
        string described;
        if (string.Equals(source, FashionMnistName, StringComparison.OrdinalIgnoreCase))
        {
            var files = FashionMnist.Locate();
            train = FashionMnist.Load(files, train: true);
            test = FashionMnist.Load(files, train: false);
            described = FashionMnistName;
        }
        else if (Directory.Exists(source))
        {
            var trainPath = Path.Combine(source, TrainFileName);
            if (!File.Exists(trainPath))
                throw new ModelSoupsException($"a dataset folder needs {TrainFileName} (and optionally {TestFileName})", source);
            train = SafetensorsDataset.Read(trainPath);
            var testPath = Path.Combine(source, TestFileName);
            if (File.Exists(testPath)) test = SafetensorsDataset.Read(testPath);
            described = Path.GetFullPath(source);
        }
        else if (File.Exists(source))
        {
            train = SafetensorsDataset.Read(source);
            described = Path.GetFullPath(source);
        }
        else
        {
            throw new ModelSoupsException($"no such dataset: give '{FashionMnistName}', a .safetensors file or a folder with {TrainFileName}", source);
        }
        if (test is not null && (test.Channels != train.Channels || test.Height != train.Height || test.Width != train.Width))
            throw new ModelSoupsException("the test images differ in shape from the training images", source);
        var split = HeldOutSplit.Create(train.Count, heldOutFraction, splitSeed);
        if (split.Train.Length == 0 || split.HeldOut.Length == 0)
            throw new ModelSoupsException($"{train.Count} training items are too few to hold out {heldOutFraction:P0} and still train", source);
        return new DatasetSplits(train.Subset(split.Train), train.Subset(split.HeldOut), test,
            FormattableString.Invariant($"{described} held-out {heldOutFraction:R} seed {splitSeed}"));
    }
}
