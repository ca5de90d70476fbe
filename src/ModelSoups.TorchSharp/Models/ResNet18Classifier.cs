using ModelSoups.Onnx.Format;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// The ImageNet-pretrained ResNet-18 of NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 (a CNTK
/// export: input [N,3,H,W] BGR in 0..255 minus the ImageNet mean, 512 pooled features, no head) as a
/// trainable backbone plus a new linear head. State names: <c>backbone.&lt;ONNX node&gt;.*</c> and <c>fc.*</c>.
/// The final pool is global, so any input size that survives five stride-2 stages (≥ 32 px) works;
/// feed it <see cref="ResNet18Preprocessing"/>'s output.
/// </summary>
public sealed class ResNet18Classifier : nn.Module<Tensor, Tensor>, IFunctionalModel, IFeatureClassifier
{
    readonly OnnxGraphModule backbone;
    readonly Linear fc;

    /// <summary>Where the build copies the model (ModelSoups.TorchSharp.csproj copies it next to every app that references it).</summary>
    public static string DefaultOnnxPath =>
        Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Feature width of the ImageNet backbone.</summary>
    public const int FeatureCount = 512;

    /// <summary>
    /// A classifier on the backbone of <paramref name="model"/> (any graph of the supported operators whose output is a
    /// pooled feature map: the head reads as many features as the graph's last convolution has output channels).
    /// </summary>
    /// <param name="model">The backbone graph.</param>
    /// <param name="classes">Outputs of the new head.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="backboneShapes">Replacement shapes of backbone tensors (see <see cref="OnnxGraphModule"/>), e.g. <see cref="Widened"/>'s.</param>
    public ResNet18Classifier(OnnxModel model, int classes, string? path = null, IReadOnlyDictionary<string, long[]>? backboneShapes = null) : base(nameof(ResNet18Classifier))
    {
        backbone = new OnnxGraphModule(model, globalFinalPool: true, path, backboneShapes);
        var last = backbone.Steps.LastOrDefault(s => s.Conv is not null)
            ?? throw new OnnxFormatException("the backbone graph has no convolution", path);
        fc = nn.Linear(last.Conv!.OutChannels, classes);
        RegisterComponents();
    }

    /// <summary>
    /// Reads the ONNX file (default: <see cref="DefaultOnnxPath"/>) and adds a <paramref name="classes"/>-way head; with
    /// <paramref name="widths"/>, the network is widened to them (<see cref="Widened"/>: a PLeaS merge's architecture).
    /// </summary>
    public static ResNet18Classifier FromOnnx(int classes, string? path = null, IReadOnlyList<int>? widths = null)
    {
        path ??= DefaultOnnxPath;
        if (!File.Exists(path))
            throw new ModelSoupsException("the pretrained ResNet-18 is missing; it is copied there by building a project that references ModelSoups.TorchSharp", path);
        var model = OnnxModel.Load(path);
        return widths is null ? new ResNet18Classifier(model, classes, path) : Widened(model, classes, widths, path);
    }

    /// <summary>
    /// The classifier with every permutation group of its graph (<see cref="Alignment.ResidualGraph"/>: residual streams and
    /// blocks' inner channels, in its order) at <paramref name="widths"/> channels; widened tensors start untrained.
    /// </summary>
    /// <exception cref="ModelSoupsException">The widths do not give one positive count per group.</exception>
    public static ResNet18Classifier Widened(OnnxModel model, int classes, IReadOnlyList<int> widths, string? path = null)
    {
        Dictionary<string, long[]> shapes;
        using (var plain = new ResNet18Classifier(model, classes, path))
        {
            var original = plain.state_dict().ToDictionary(p => p.Key, p => p.Value.shape, StringComparer.Ordinal);
            var graph = Alignment.ResidualGraph.From(plain.Backbone.Steps, plain.Backbone.InputName, plain.Backbone.OutputName, BackbonePrefix, "fc.weight", original, path);
            if (widths.Count != graph.Spec.Groups.Count || widths.Any(w => w < 1))
                throw new ModelSoupsException($"widths must be {graph.Spec.Groups.Count} positive channel counts (one per residual stream and block group), not [{string.Join(", ", widths)}]", path);
            shapes = graph.Spec.Resized(original, widths);
        }
        var backboneShapes = shapes.Where(p => p.Key.StartsWith(BackbonePrefix, StringComparison.Ordinal))
            .ToDictionary(p => p.Key[BackbonePrefix.Length..], p => p.Value, StringComparer.Ordinal);
        return new ResNet18Classifier(model, classes, path, backboneShapes);
    }

    /// <summary>The imported backbone (ONNX initializer names are in <see cref="OnnxGraphModule.InitializerNames"/>).</summary>
    public OnnxGraphModule Backbone => backbone;

    public override Tensor forward(Tensor input)
    {
        using var flat = Features(input);
        return fc.call(flat);
    }

    /// <inheritdoc/>
    public Linear Head => fc;

    /// <inheritdoc/>
    public Tensor Features(Tensor input)
    {
        using var features = backbone.call(input);
        return features.flatten(1);
    }

    /// <inheritdoc/>
    public Tensor Forward(Tensor input, IReadOnlyDictionary<string, Tensor> state) => Forward(input, state, null);

    /// <summary>State name prefix of the backbone's tensors.</summary>
    public const string BackbonePrefix = "backbone.";

    /// <summary>The functional forward pass; <paramref name="observe"/> (if given) sees every backbone step's output (see <see cref="OnnxGraphModule.Forward(Tensor, IReadOnlyDictionary{string, Tensor}, string, Action{OnnxGraphStep, Tensor})"/>).</summary>
    public Tensor Forward(Tensor input, IReadOnlyDictionary<string, Tensor> state, Action<OnnxGraphStep, Tensor>? observe)
    {
        using var features = backbone.Forward(input, state, BackbonePrefix, observe);
        using var flat = features.flatten(1);
        return nn.functional.linear(flat, state["fc.weight"], state["fc.bias"]);
    }
}
