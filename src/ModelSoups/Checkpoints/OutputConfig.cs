using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Tensors;

namespace ModelSoups.Checkpoints;

/// <summary>
/// The output's <c>config.json</c>: the source model's, with what the merge changed written into it,
/// as mergekit does (<c>merge.py</c>, <c>_model_out_config</c>): the layer count when slices change it,
/// the vocabulary size when a tokenizer merge changes it, and the dtype the weights are written in (<c>torch_dtype</c>, and <c>dtype</c>, the name newer
/// transformers versions write). Everything else is kept as it was, in its order.
/// </summary>
public static class OutputConfig
{
    /// <summary>Top-level keys that hold the layer count in Hugging Face configs (Llama/Mistral/Qwen/Phi, GPT-2/BLOOM, T5-style, MPT).</summary>
    public static readonly string[] LayerCountKeys = ["num_hidden_layers", "n_layer", "num_layers", "n_layers"];

    /// <summary>
    /// Returns <paramref name="json"/> with the layer count set to <paramref name="layerCount"/> (when
    /// not null) and the dtype to <paramref name="dtype"/> (when not null).
    /// </summary>
    /// <param name="json">the source config.json text.</param>
    /// <param name="layerCount">the output's layer count, or null to leave it.</param>
    /// <param name="dtype">the output's float dtype, or null to leave it.</param>
    /// <param name="where">the source file, for messages.</param>
    /// <param name="vocabSize">the output's vocabulary size (embedding rows) when a tokenizer merge changed it, or null.</param>
    /// <exception cref="ModelSoupsException">not a JSON object, or no layer-count key to update.</exception>
    public static string Rewrite(string json, int? layerCount, DType? dtype, string where, int? vocabSize = null)
    {
        JsonObject config;
        try
        {
            config = JsonNode.Parse(json) as JsonObject ?? throw new ModelSoupsException("config.json is not a JSON object", where);
        }
        catch (JsonException e)
        {
            throw new ModelSoupsException($"config.json is not valid JSON: {e.Message.Split('\n')[0]}", where, e);
        }
        if (layerCount is int layers)
        {
            var keys = LayerCountKeys.Where(k => config[k] is JsonValue v && v.TryGetValue<int>(out _)).ToList();
            if (keys.Count == 0)
                throw new ModelSoupsException(
                    $"config.json has no layer count to update to {layers} (looked for {string.Join(", ", LayerCountKeys)}); the output's config would describe the wrong model", where);
            foreach (var k in keys) config[k] = layers;
        }
        if (vocabSize is int v) config["vocab_size"] = v;
        if (dtype is DType d)
        {
            var name = TorchName(d);
            bool any = false;
            foreach (var k in new[] { "torch_dtype", "dtype" })
                if (config.ContainsKey(k)) { config[k] = name; any = true; }
            if (!any) config["torch_dtype"] = name;
        }
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The dtype as transformers spells it in config.json.</summary>
    public static string TorchName(DType d) => d switch
    {
        DType.F32 => "float32",
        DType.F64 => "float64",
        DType.BF16 => "bfloat16",
        DType.F16 => "float16",
        _ => d.SafetensorsName(),
    };
}
