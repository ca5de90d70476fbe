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
}
