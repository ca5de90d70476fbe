using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelSoups.Merging;

/// <summary>Finds the transformer layer number in a tensor name (Llama "layers.N.", GPT-2 "h.N.", BERT "layer.N.", ViT "blocks.N.").</summary>
public static partial class LayerIndex
{
    [GeneratedRegex(@"(?:^|\.)(?:layers|h|layer|blocks)\.(\d+)(?:\.|$)", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>The first layer number in <paramref name="tensorName"/>, or null for tensors outside the layer stack (embeddings, final norm, head).</summary>
    public static int? Parse(string tensorName)
    {
        var m = Pattern().Match(tensorName);
        return m.Success && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
    }

    /// <summary>
    /// The layer stack a layer tensor belongs to: the name up to its layer number, e.g.
    /// "model.layers." or "vision_tower.encoder.layers."; null outside the layer stacks. A model with
    /// a vision tower and a text stack has two stacks, each with its own layer count.
    /// </summary>
    public static string? Stack(string tensorName)
    {
        var m = Pattern().Match(tensorName);
        return m.Success ? tensorName[..m.Groups[1].Index] : null;
    }
}
