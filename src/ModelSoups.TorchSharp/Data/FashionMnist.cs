namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017: 60 000 train / 10 000 test 28×28 gray images, 10 classes) from
/// the Debian package <c>dataset-fashion-mnist</c>, which installs the original gzipped IDX files.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist puts the files.</summary>
    public const string DebianFolder = "/usr/share/datasets/fashion-mnist";
    public const int Classes = 10, Side = 28;

    /// <summary>Class names in label order.</summary>
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The four IDX files.</summary>
    public sealed record Files(string TrainImages, string TrainLabels, string TestImages, string TestLabels);

    /// <summary>Finds the files in <paramref name="folder"/> (default <see cref="DebianFolder"/>), gzipped or not.</summary>
    public static Files Locate(string? folder = null)
    {
        folder ??= DebianFolder;
        string Find(string stem)
        {
            foreach (var name in new[] { stem + ".gz", stem })
            {
                var p = Path.Combine(folder, name);
                if (File.Exists(p)) return p;
            }
            throw new ModelSoupsException(
                $"Fashion-MNIST file {stem}[.gz] is missing; install the dataset with: sudo apt-get install -y dataset-fashion-mnist", folder);
        }
        return new Files(Find("train-images-idx3-ubyte"), Find("train-labels-idx1-ubyte"),
                         Find("t10k-images-idx3-ubyte"), Find("t10k-labels-idx1-ubyte"));
    }

    /// <summary>Reads one split (<paramref name="train"/> true: the 60 000 training images).</summary>
    public static ImageDataset Load(Files files, bool train) =>
        Load(train ? files.TrainImages : files.TestImages, train ? files.TrainLabels : files.TestLabels);

    /// <summary>Reads an images file ([n, 28, 28] ubyte) and a labels file ([n] ubyte) that belong together.</summary>
    public static ImageDataset Load(string imagesPath, string labelsPath)
    {
        var images = IdxReader.Read(imagesPath);
        var labels = IdxReader.Read(labelsPath);
        if (images.Dims.Length != 3) throw new ModelSoupsException($"an images file must have 3 dimensions, this one has {images.Dims.Length}", imagesPath);
        if (labels.Dims.Length != 1) throw new ModelSoupsException($"a labels file must have 1 dimension, this one has {labels.Dims.Length}", labelsPath);
        if (images.Count != labels.Count)
            throw new ModelSoupsException($"{labels.Count} labels for {images.Count} images in {imagesPath}", labelsPath);
        return new ImageDataset(images.Data, labels.Data, images.Dims[1], images.Dims[2], Classes, labelsPath);
    }
}
