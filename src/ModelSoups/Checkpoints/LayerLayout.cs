using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelSoups.Checkpoints;

/// <summary>
/// Where a checkpoint's tensors sit around its layer stack, read from the tensor names alone (no
/// per-architecture table): what <c>slices</c> need to take layer ranges and renumber them.
/// Recognised: one stack whose tensors are named <c>PREFIX.N.REST</c> where PREFIX ends in
/// <c>layers.</c> (Llama, Mistral, Qwen, Phi, Gemma: <c>model.layers.N.</c>), <c>h.</c> (GPT-2,
/// GPT-J, Falcon, BLOOM: <c>transformer.h.N.</c>), <c>layer.</c> (BERT: <c>encoder.layer.N.</c>)
/// or <c>blocks.</c> (ViT, MPT: <c>blocks.N.</c>), with layers 0 … L−1 all present. Tensors outside
/// the stack are pre-layer when their name contains <c>embed</c>, <c>wte</c>, <c>wpe</c>,
/// <c>cls_token</c> or <c>rotary</c> (embeddings, position tables) and post-layer otherwise (final
/// norm, <c>lm_head</c>, pooler). Anything else — no stack, two stacks (a vision tower beside a text
/// stack, an encoder beside a decoder), a gap in the layer numbers, a numbered part outside the
/// stack (<c>decoder.block.3.</c>, <c>head.0.</c>) — is refused, naming a tensor, rather than guessed.
/// </summary>
public sealed partial class LayerLayout
{
    /// <summary>The layer-name forms this class recognises, for messages and docs.</summary>
    public const string Recognised = "PREFIX.layers.N., PREFIX.h.N., PREFIX.layer.N. or PREFIX.blocks.N. (one stack, layers 0..L-1)";

    // Leftmost stack word wins: "model.layers.3.mlp.experts.2.w1" is layer 3 of "model.layers.".
    [GeneratedRegex(@"^(?<prefix>(?:[^.]+\.)*?(?:layers|h|layer|blocks)\.)(?<index>\d+)\.(?<rest>.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex LayerName();

    [GeneratedRegex(@"(?:^|\.)\d+(?:\.|$)", RegexOptions.CultureInvariant)]
    private static partial Regex NumberedPart();

    static readonly string[] PreLayerMarks = ["embed", "wte", "wpe", "cls_token", "rotary"];

    readonly SortedDictionary<int, List<string>> _layers;

    LayerLayout(string prefix, SortedDictionary<int, List<string>> layers, List<string> pre, List<string> post)
    {
        StackPrefix = prefix;
        _layers = layers;
        PreLayer = pre;
        PostLayer = post;
    }

    /// <summary>The text before the layer number, e.g. <c>model.layers.</c>.</summary>
    public string StackPrefix { get; }

    /// <summary>Number of layers L (numbered 0 … L−1).</summary>
    public int LayerCount => _layers.Count;

    /// <summary>Tensors before the stack (embeddings), in name order.</summary>
    public IReadOnlyList<string> PreLayer { get; }

    /// <summary>Tensors after the stack (final norm, head), in name order.</summary>
    public IReadOnlyList<string> PostLayer { get; }

    /// <summary>The name parts after <c>PREFIX.N.</c> of layer <paramref name="layer"/>'s tensors, in order.</summary>
    public IReadOnlyList<string> LayerSuffixes(int layer) => _layers[layer];

    /// <summary>The full name of tensor <paramref name="suffix"/> of layer <paramref name="layer"/>.</summary>
    public string TensorName(int layer, string suffix) => StackPrefix + layer.ToString(CultureInfo.InvariantCulture) + "." + suffix;

    /// <summary>True for tensors before the layer stack (see the class summary for the rule).</summary>
    public static bool IsPreLayer(string tensorName) => PreLayerMarks.Any(m => tensorName.Contains(m, StringComparison.Ordinal));

    /// <summary>Reads the layout from tensor names; throws <see cref="ModelSoupsException"/> naming a tensor when it is not one this class recognises.</summary>
    /// <param name="tensorNames">the checkpoint's tensor names.</param>
    /// <param name="where">the checkpoint's path, for messages.</param>
    public static LayerLayout Of(IEnumerable<string> tensorNames, string where)
    {
        var names = tensorNames.Order(StringComparer.Ordinal).ToList();
        string? prefix = null;
        var layers = new SortedDictionary<int, List<string>>();
        var outside = new List<string>();
        foreach (var name in names)
        {
            var m = LayerName().Match(name);
            if (!m.Success) { outside.Add(name); continue; }
            var p = m.Groups["prefix"].Value;
            if (prefix is null) prefix = p;
            else if (p != prefix)
                throw new ModelSoupsException(
                    $"tensor {name} is in a second layer stack ('{p}' besides '{prefix}'); slices support models with one layer stack ({Recognised})", where);
            if (!int.TryParse(m.Groups["index"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                throw new ModelSoupsException($"tensor {name} has a layer number too large to be one", where);
            if (!layers.TryGetValue(index, out var list)) layers[index] = list = [];
            list.Add(m.Groups["rest"].Value);
        }
        if (prefix is null)
            throw new ModelSoupsException(
                $"no tensor name has a layer number in a recognised form ({Recognised}), so slices cannot find the layers (first tensor: {names.FirstOrDefault() ?? "none"})", where);
        for (int i = 0; i < layers.Count; i++)
            if (!layers.ContainsKey(i))
                throw new ModelSoupsException(
                    $"the layer stack '{prefix}' has no layer {i} but has layer {layers.Keys.First(k => k > i)} (tensor {prefix}{layers.Keys.First(k => k > i)}.{layers[layers.Keys.First(k => k > i)][0]}); slices need layers numbered 0..L-1", where);
        foreach (var name in outside)
            if (NumberedPart().IsMatch(name))
                throw new ModelSoupsException(
                    $"tensor {name} has a numbered part outside the layer stack '{prefix}N.'; slices cannot tell where it belongs, so this layout is not supported ({Recognised})", where);
        return new LayerLayout(prefix, layers, outside.Where(IsPreLayer).ToList(), outside.Where(n => !IsPreLayer(n)).ToList());
    }
}
