using System.Globalization;
using ModelSoups.Tensors;

namespace ModelSoups.TestSupport;

/// <summary>
/// Tiny Llama-shaped Hugging Face folders (hidden 8, MLP 16, vocab 32, a few layers) with a Llama
/// config.json: what mergekit's example recipes and slices tests run on.
/// </summary>
public static class TinyLlama
{
    public const int Hidden = 8, Intermediate = 16, Vocab = 32;

    /// <summary>Per-layer tensors (suffix after "model.layers.N.") and their shapes.</summary>
    public static readonly (string Suffix, long[] Shape)[] LayerTensors =
    [
        ("input_layernorm.weight", [Hidden]),
        ("mlp.down_proj.weight", [Hidden, Intermediate]),
        ("mlp.gate_proj.weight", [Intermediate, Hidden]),
        ("mlp.up_proj.weight", [Intermediate, Hidden]),
        ("post_attention_layernorm.weight", [Hidden]),
        ("self_attn.k_proj.weight", [Hidden, Hidden]),
        ("self_attn.o_proj.weight", [Hidden, Hidden]),
        ("self_attn.q_proj.weight", [Hidden, Hidden]),
        ("self_attn.v_proj.weight", [Hidden, Hidden]),
    ];

    /// <summary>The tensors outside the layer stack.</summary>
    public static readonly (string Name, long[] Shape)[] Outside =
    [
        ("model.embed_tokens.weight", [Vocab, Hidden]),
        ("model.norm.weight", [Hidden]),
        ("lm_head.weight", [Vocab, Hidden]),
    ];

    public static string Config(int layers, string dtype) => $$"""
        {
          "architectures": ["LlamaForCausalLM"],
          "model_type": "llama",
          "hidden_size": {{Hidden}},
          "intermediate_size": {{Intermediate}},
          "num_attention_heads": 2,
          "num_key_value_heads": 2,
          "num_hidden_layers": {{layers}},
          "vocab_size": {{Vocab}},
          "torch_dtype": "{{dtype}}"
        }
        """;

    /// <summary>Writes a model with <paramref name="layers"/> layers, values from <paramref name="seed"/> in [-1, 1).</summary>
    public static string Write(string folder, int layers, int seed, DType type = DType.BF16)
    {
        var rng = new Random(seed);
        byte[] Values(long[] shape) => ModelFolders.Bytes(type,
            Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
        var tensors = new List<(TensorInfo, byte[])>();
        foreach (var (name, shape) in Outside) tensors.Add((new TensorInfo(name, type, shape), Values(shape)));
        for (int l = 0; l < layers; l++)
            foreach (var (suffix, shape) in LayerTensors)
                tensors.Add((new TensorInfo(LayerName(l, suffix), type, shape), Values(shape)));
        var dtypeName = type switch { DType.BF16 => "bfloat16", DType.F16 => "float16", DType.F32 => "float32", _ => "float64" };
        return ModelFolders.Write(folder, tensors, config: Config(layers, dtypeName));
    }

    public static string LayerName(int layer, string suffix) => $"model.layers.{layer.ToString(CultureInfo.InvariantCulture)}.{suffix}";
}
