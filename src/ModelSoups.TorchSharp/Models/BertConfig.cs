using ModelSoups.Onnx.Format;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// The shape of a BERT encoder (Hugging Face <c>BertConfig</c>'s fields that the weights do not show alone).
/// <see cref="FromOnnx"/> reads it from an ONNX export with Hugging Face initializer names.
/// </summary>
/// <param name="VocabSize">Word-piece vocabulary size.</param>
/// <param name="Hidden">Hidden width.</param>
/// <param name="Layers">Transformer layers.</param>
/// <param name="Heads">Attention heads per layer.</param>
/// <param name="Intermediate">Feed-forward width.</param>
/// <param name="MaxPositions">Position embeddings.</param>
/// <param name="TypeVocabSize">Token-type (segment) embeddings.</param>
/// <param name="LayerNormEps">LayerNorm ε.</param>
public sealed record BertConfig(int VocabSize, int Hidden, int Layers, int Heads, int Intermediate, int MaxPositions, int TypeVocabSize, double LayerNormEps)
{
    /// <summary>Width of one head.</summary>
    public int HeadSize => Hidden / Heads;

    /// <summary>
    /// Reads the shape from a BERT ONNX export (torch.onnx of Hugging Face's BertModel): sizes from the embedding and
    /// bias initializers, the head count from the constant shape that splits the first key projection into heads
    /// (Reshape to [batch, tokens, heads, head size]), ε from the constant added before the first LayerNorm's Sqrt.
    /// </summary>
    public static BertConfig FromOnnx(OnnxGraph graph, string? path = null)
    {
        var init = graph.InitializersByName;
        OnnxTensor Need(string name) => init.TryGetValue(name, out var t) ? t
            : throw new OnnxFormatException($"this is not a BERT export with Hugging Face names: it has no initializer '{name}'", path);
        var words = Need(BertEncoder.WordEmbeddings);
        var positions = Need("embeddings.position_embeddings.weight");
        var types = Need("embeddings.token_type_embeddings.weight");
        int layers = 0;
        while (init.ContainsKey($"encoder.layer.{layers}.attention.self.query.bias")) layers++;
        if (layers == 0) throw new OnnxFormatException("this is not a BERT export with Hugging Face names: no encoder.layer.0", path);
        int hidden = checked((int)words.Dims[1]);
        int intermediate = checked((int)Need("encoder.layer.0.intermediate.dense.bias").Dims[0]);

        var producer = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes) foreach (var o in n.Outputs) producer[o] = n;
        var consumers = graph.Nodes.SelectMany(n => n.Inputs.Select(i => (i, n))).ToLookup(x => x.i, x => x.n, StringComparer.Ordinal);

        // Heads: key bias Add → Reshape(shape = Concat(batch, tokens, heads, head size)).
        var keyAdd = graph.Nodes.FirstOrDefault(n => n.OpType == "Add" && n.Inputs.Contains("encoder.layer.0.attention.self.key.bias"))
            ?? throw new OnnxFormatException("the first key projection has no bias Add", path);
        var reshape = consumers[keyAdd.Outputs[0]].FirstOrDefault(n => n.OpType == "Reshape")
            ?? throw new OnnxFormatException("the first key projection is not reshaped into heads", path);
        long[] shape = ConstantInts(reshape.Inputs[1], init, producer, path);
        if (shape.Length != 4 || shape[2] * shape[3] != hidden)
            throw new OnnxFormatException($"the head split [{string.Join(", ", shape)}] does not divide the width {hidden}", path);

        // ε: the first Sqrt(Add(ReduceMean(x²), ε)).
        var sqrt = graph.Nodes.FirstOrDefault(n => n.OpType == "Sqrt") ?? throw new OnnxFormatException("no LayerNorm (Sqrt) found", path);
        var epsAdd = producer.GetValueOrDefault(sqrt.Inputs[0]);
        var epsInput = epsAdd?.Inputs.FirstOrDefault(i => producer.GetValueOrDefault(i)?.OpType is "Constant" || init.ContainsKey(i))
            ?? throw new OnnxFormatException("the first LayerNorm's ε is not a constant", path);
        double eps = ConstantFloat(epsInput, init, producer, path);

        return new BertConfig(checked((int)words.Dims[0]), hidden, layers, checked((int)shape[2]), intermediate,
            checked((int)positions.Dims[0]), checked((int)types.Dims[0]), eps);
    }

    static OnnxTensor Constant(string value, IReadOnlyDictionary<string, OnnxTensor> init, Dictionary<string, OnnxNode> producer, string? path)
    {
        if (init.TryGetValue(value, out var t)) return t;
        if (producer.TryGetValue(value, out var node) && node.OpType == "Constant" && node.Attributes.TryGetValue("value", out var a) && a.Tensor is { } c) return c;
        throw new OnnxFormatException($"value '{value}' is not a constant", path);
    }

    static double ConstantFloat(string value, IReadOnlyDictionary<string, OnnxTensor> init, Dictionary<string, OnnxNode> producer, string? path)
    {
        var values = Constant(value, init, producer, path).ToFloatArray();
        return values.Length == 1 ? values[0] : throw new OnnxFormatException($"value '{value}' is not a scalar", path);
    }

    /// <summary>A constant int64 vector, directly or as a Concat of constants (dynamic parts read as −1).</summary>
    static long[] ConstantInts(string value, IReadOnlyDictionary<string, OnnxTensor> init, Dictionary<string, OnnxNode> producer, string? path)
    {
        if (producer.TryGetValue(value, out var node) && node.OpType == "Concat")
            return node.Inputs.SelectMany(i =>
            {
                try { return ConstantInts(i, init, producer, path); }
                catch (OnnxFormatException) { return new long[] { -1 }; } // batch and token counts come from Shape at run time
            }).ToArray();
        return Constant(value, init, producer, path).ToInt64Array();
    }
}
