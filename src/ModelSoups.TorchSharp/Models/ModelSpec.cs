using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// What a checkpoint folder's weights belong to, written beside them as <c>soup-model.json</c>
/// (<c>{"architecture": "resnet18-imagenet", "classes": 10, "image_size": 32, "channels": 1}</c>), so
/// evaluators and later fine-tunes can rebuild the module and feed it the right input.
/// Architectures: <c>resnet18-imagenet</c> (<see cref="ResNet18Classifier"/>), <c>cnn</c> (<see cref="SmallCnn"/>),
/// <c>mlp</c> (<see cref="Mlp"/>), <c>minilm-l6</c> (<see cref="BertClassifier.MiniLm"/>: text, where the data's "images" are
/// rows of token ids [N, 1, 1, T] and <c>image_size</c> is the token count T).
/// </summary>
public sealed record ModelSpec
{
    /// <summary>File name beside the weights.</summary>
    public const string FileName = "soup-model.json";
    /// <summary>Architecture names.</summary>
    public const string ResNet18 = "resnet18-imagenet", Cnn = "cnn", MlpName = "mlp", MiniLm = "minilm-l6";
    /// <summary>Default input side of the ResNet (CPU-friendly; see <see cref="ResNet18Preprocessing.FromGray"/>).</summary>
    public const int DefaultResNetImageSize = 32;

    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    [JsonPropertyName("classes")] public required int Classes { get; init; }
    /// <summary>Side of the square model input; images are resized to it.</summary>
    [JsonPropertyName("image_size")] public required int ImageSize { get; init; }
    /// <summary>Channels of the data (1 gray, 3 RGB).</summary>
    [JsonPropertyName("channels")] public int Channels { get; init; } = 1;
    /// <summary>CNN width (first block's channels).</summary>
    [JsonPropertyName("width")] public int? Width { get; init; }
    /// <summary>MLP hidden layer sizes.</summary>
    [JsonPropertyName("hidden")] public int[]? Hidden { get; init; }
    /// <summary>
    /// CNN channels of its two blocks when they are not [width, 2·width], or a ResNet's channels per permutation group
    /// (residual streams and blocks' inner channels, as Alignment/ResidualGraph orders them) when not the ONNX file's:
    /// a PLeaS merge widens each group by the units it keeps from both models.
    /// </summary>
    [JsonPropertyName("widths")] public int[]? Widths { get; init; }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The spec of a named architecture for data of <paramref name="channels"/> × <paramref name="dataSide"/>².</summary>
    public static ModelSpec ForArchitecture(string architecture, int classes, int channels, int dataSide, int? imageSize = null)
    {
        var spec = architecture switch
        {
            ResNet18 => new ModelSpec { Architecture = ResNet18, Classes = classes, ImageSize = imageSize ?? DefaultResNetImageSize, Channels = channels },
            Cnn => new ModelSpec { Architecture = Cnn, Classes = classes, ImageSize = imageSize ?? dataSide, Channels = channels, Width = 16 },
            MlpName => new ModelSpec { Architecture = MlpName, Classes = classes, ImageSize = imageSize ?? dataSide, Channels = channels, Hidden = [128] },
            MiniLm => new ModelSpec { Architecture = MiniLm, Classes = classes, ImageSize = imageSize ?? dataSide, Channels = channels },
            _ => throw new ModelSoupsException($"unknown architecture '{architecture}'; use {ResNet18}, {Cnn}, {MlpName}, {MiniLm} or a checkpoint folder with {FileName}"),
        };
        spec.Validate(null);
        return spec;
    }

    /// <summary>True when <paramref name="model"/> names a folder or file holding a spec rather than an architecture.</summary>
    public static bool IsPath(string model) =>
        Directory.Exists(model) || File.Exists(model);

    /// <summary>Reads <c>soup-model.json</c> from a folder, or the given JSON file.</summary>
    public static ModelSpec Read(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
            throw new ModelSoupsException($"no {FileName} here: it names the architecture of the weights (write it with soup finetune)", path);
        // A weights file holds no architecture: say so rather than report it as broken JSON.
        if (Path.GetExtension(file).ToLowerInvariant() is ".bin" or ".pt" or ".pth" or ".ckpt" or ".safetensors")
            throw new ModelSoupsException($"a checkpoint file names no architecture: give a folder that holds it (as model.safetensors or pytorch_model.bin) and a {FileName}", path);
        var spec = JsonFile.Read<ModelSpec>(file, Json, FileName);
        spec.Validate(file);
        return spec;
    }

    /// <summary>The spec as <c>soup-model.json</c> text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    void Validate(string? path)
    {
        if (Architecture is not (ResNet18 or Cnn or MlpName or MiniLm))
            throw new ModelSoupsException($"unknown architecture '{Architecture}'; use {ResNet18}, {Cnn}, {MlpName} or {MiniLm}", path);
        if (Classes is < 1 or > 256) throw new ModelSoupsException($"classes must be 1..256, not {Classes}", path);
        if (ImageSize is < 1 or > 1024) throw new ModelSoupsException($"image_size must be 1..1024, not {ImageSize}", path);
        if (Channels is not (1 or 3)) throw new ModelSoupsException($"channels must be 1 or 3, not {Channels}", path);
        if (Architecture == MiniLm && (Channels != 1 || ImageSize > 512))
            throw new ModelSoupsException($"{MiniLm} reads one row of at most 512 token ids (channels 1, image_size = tokens), not channels {Channels}, image_size {ImageSize}", path);
        if (Widths is { } ws && !(Architecture == Cnn && ws.Length == 2 && ws.All(w => w > 0) || Architecture == ResNet18 && ws.Length > 0 && ws.All(w => w > 0)))
            throw new ModelSoupsException($"widths must be two positive channel counts of a {Cnn} or one per permutation group of a {ResNet18}, not [{string.Join(", ", ws)}] for {Architecture}", path);
        if (Hidden is { } hs && hs.Any(h => h < 1))
            throw new ModelSoupsException($"hidden sizes must be positive, not [{string.Join(", ", hs)}]", path);
        if (Architecture == ResNet18 && ImageSize < 32) throw new ModelSoupsException($"the ResNet needs image_size ≥ 32 (five stride-2 stages), not {ImageSize}", path);
    }

    /// <summary>One line for descriptions and messages.</summary>
    public string Describe() => $"{Architecture} classes {Classes} image {ImageSize} channels {Channels}" +
        (Width is { } w ? $" width {w}" : "") + (Hidden is { } h ? $" hidden [{string.Join(",", h)}]" : "") +
        (Widths is { } ws ? $" widths [{string.Join(",", ws)}]" : "");

    /// <summary>A new module of this architecture (ResNet, MiniLM: pre-trained weights and a freshly initialised head).</summary>
    public nn.Module<Tensor, Tensor> Create() => Architecture switch
    {
        ResNet18 => ResNet18Classifier.FromOnnx(Classes, widths: Widths),
        Cnn => new SmallCnn(Channels, Classes, Widths?[0] ?? Width ?? 16, Widths?[1]),
        MlpName => new Mlp(Channels * ImageSize * ImageSize, Hidden ?? [128], Classes),
        MiniLm => BertClassifier.MiniLm(Classes),
        _ => throw new InvalidOperationException(Architecture),
    };

    /// <summary>Data batch [N,C,h,w] (floats as <see cref="Data.ImageDataset.Batch"/> gives them) → model input.</summary>
    public Tensor Prepare(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != Channels)
            throw new ModelSoupsException($"the model expects {Channels}-channel images, the data has shape [{string.Join(", ", images.shape)}]");
        if (Architecture == MiniLm)
        {
            if (images.shape[2] != 1 || images.shape[3] != ImageSize)
                throw new ModelSoupsException($"{MiniLm} expects rows of {ImageSize} token ids [N, 1, 1, {ImageSize}], the data has shape [{string.Join(", ", images.shape)}]");
            // Token ids travel as float32 "pixels" (exact below 2^24; the vocabulary has 30 522).
            using var flat = images.view(images.shape[0], ImageSize);
            return flat.to(ScalarType.Int64);
        }
        if (Architecture == ResNet18)
            return Channels == 1 ? ResNet18Preprocessing.FromGray(images, ImageSize) : ResNet18Preprocessing.FromRgb(images, ImageSize);
        if (images.shape[2] == ImageSize && images.shape[3] == ImageSize) return images.alias();
        return nn.functional.interpolate(images, [ImageSize, ImageSize], mode: InterpolationMode.Bilinear, align_corners: false);
    }
}
