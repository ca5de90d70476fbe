using ModelSoups.Onnx.Format;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// A BERT encoder (Devlin et al. 2019) whose parameters carry Hugging Face <c>BertModel</c>'s state names
/// (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.N.attention.self.query.weight</c>, …,
/// <c>pooler.dense.weight</c>), so its checkpoints are ordinary HF-style safetensors. Linear weights are
/// [out, in] as in PyTorch. One forward implementation (<see cref="Forward"/>) runs on
/// any tensors looked up by those names: the module's own parameters, or a learned soup's differentiable mixture.
/// Input: token ids [N, T] (int64) with 0 = [PAD]; the attention mask is ids ≠ 0 and every token type is 0
/// (single-segment input, as sentence-transformers feeds it).
/// </summary>
public sealed class BertEncoder : nn.Module
{
    /// <summary>State name of the word-piece embedding.</summary>
    public const string WordEmbeddings = "embeddings.word_embeddings.weight";

    /// <summary>The shape.</summary>
    public BertConfig Config { get; }

    /// <summary>A zero-initialised encoder of <paramref name="config"/>'s shape (load weights into it).</summary>
    public BertEncoder(BertConfig config) : base(nameof(BertEncoder))
    {
        Config = config;
        int h = config.Hidden;
        var embeddings = Root("embeddings");
        Weight(embeddings.Child("word_embeddings"), config.VocabSize, h);
        Weight(embeddings.Child("position_embeddings"), config.MaxPositions, h);
        Weight(embeddings.Child("token_type_embeddings"), config.TypeVocabSize, h);
        LayerNorm(embeddings.Child("LayerNorm"), h);
        var layers = Root("encoder").Child("layer");
        for (int i = 0; i < config.Layers; i++)
        {
            var layer = layers.Child(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var attention = layer.Child("attention");
            var self = attention.Child("self");
            foreach (var name in new[] { "query", "key", "value" }) Dense(self.Child(name), h, h);
            var attentionOutput = attention.Child("output");
            Dense(attentionOutput.Child("dense"), h, h);
            LayerNorm(attentionOutput.Child("LayerNorm"), h);
            Dense(layer.Child("intermediate").Child("dense"), config.Intermediate, h);
            var output = layer.Child("output");
            Dense(output.Child("dense"), h, config.Intermediate);
            LayerNorm(output.Child("LayerNorm"), h);
        }
        Dense(Root("pooler").Child("dense"), h, h);
    }

    /// <summary>
    /// Builds the encoder from a BERT ONNX export (torch.onnx of HF BertModel, standard operators). Initializers that
    /// carry HF names (embeddings, biases, LayerNorm) are taken as they are. Projection weights are anonymous [in, out]
    /// MatMul operands: each is named after the bias of the Add that follows its MatMul (<c>….query.bias</c> →
    /// <c>….query.weight</c>) and transposed to PyTorch's [out, in]. The pooler is a Gemm with transB, already [out, in].
    /// </summary>
    public static BertEncoder FromOnnx(OnnxModel model, string? path = null)
    {
        var graph = model.Graph;
        var encoder = new BertEncoder(BertConfig.FromOnnx(graph, path));
        var state = encoder.state_dict();
        var consumers = graph.Nodes.SelectMany(n => n.Inputs.Select(i => (i, n))).ToLookup(x => x.i, x => x.n, StringComparer.Ordinal);
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        using var _ = no_grad();
        foreach (var t in graph.Initializers)
        {
            if (state.ContainsKey(t.Name) && loaded.Add(t.Name)) Copy(state[t.Name], t, transpose: false, path);
        }
        foreach (var matMul in graph.Nodes.Where(n => n.OpType == "MatMul" && n.Inputs.Count == 2 && graph.InitializersByName.ContainsKey(n.Inputs[1])))
        {
            var add = consumers[matMul.Outputs[0]].FirstOrDefault(n => n.OpType == "Add");
            var bias = add?.Inputs.FirstOrDefault(i => i.EndsWith(".bias", StringComparison.Ordinal) && graph.InitializersByName.ContainsKey(i))
                ?? throw new OnnxFormatException($"MatMul '{matMul.Name}' is not followed by an Add of a named bias, so its weight cannot be named", path);
            var name = bias[..^".bias".Length] + ".weight";
            if (!state.TryGetValue(name, out var target))
                throw new OnnxFormatException($"MatMul '{matMul.Name}' feeds bias '{bias}', which this BERT has no weight for", path);
            if (!loaded.Add(name)) throw new OnnxFormatException($"two MatMuls feed bias '{bias}'", path);
            Copy(target, graph.InitializersByName[matMul.Inputs[1]], transpose: true, path);
        }
        var missing = state.Keys.Where(k => !loaded.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new OnnxFormatException($"the export has no weights for {missing.Count} tensor(s), e.g. '{missing[0]}'", path);
        return encoder;
    }

    static void Copy(Tensor target, OnnxTensor source, bool transpose, string? path)
    {
        long[] dims = transpose ? [.. source.Dims.Reverse()] : source.Dims;
        if (!dims.AsSpan().SequenceEqual(target.shape))
            throw new OnnxFormatException($"initializer '{source.Name}' is {source.DimsText}; the model needs [{string.Join(", ", target.shape)}]" +
                (transpose ? " transposed" : ""), path);
        using var values = tensor(source.ToFloatArray()).reshape(source.Dims);
        if (transpose)
        {
            using var t = values.t();
            target.copy_(t);
        }
        else target.copy_(values);
    }

    /// <summary>Last hidden states [N, T, hidden] of token ids [N, T] (0 = padding), with this module's parameters.</summary>
    public Tensor LastHiddenState(Tensor ids) => Forward(ids, OwnParameters()).Hidden;

    /// <summary>The module's own parameters by state name.</summary>
    internal Func<string, Tensor> OwnParameters()
    {
        var map = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        return name => map[name];
    }

    /// <summary>
    /// The encoder on tensors looked up by state name: last hidden states [N, T, H] and the pooler's tanh output [N, H]
    /// (the [CLS] state through <c>pooler.dense</c>). <paramref name="prefix"/> is put before every name.
    /// </summary>
    public (Tensor Hidden, Tensor Pooled) Forward(Tensor ids, Func<string, Tensor> p, string prefix = "", bool pooled = false)
    {
        if (ids.dim() != 2) throw new ArgumentException($"token ids must be [N, T], not [{string.Join(", ", ids.shape)}]", nameof(ids));
        long n = ids.shape[0], t = ids.shape[1];
        if (t > Config.MaxPositions) throw new ModelSoupsException($"{t} tokens are more than the model's {Config.MaxPositions} positions");
        Tensor P(string name) => p(prefix + name);
        using var scope = NewDisposeScope();
        using var zero = 0L.ToScalar();
        using var one = 1.0.ToScalar();
        // HF BertModel's extended mask: (1 − mask)·(−10000) added to every attention score (the value in this export family).
        using var minusLarge = (-10000.0).ToScalar();
        var mask = ids.ne(zero).to(ScalarType.Float32);                          // [N, T]
        var additive = mask.neg().add(one, one).mul(minusLarge).view(n, 1, 1, t);    // [N, 1, 1, T]; alpha explicit (no finalizer Scalar)
        using var first = 0L.ToScalar();
        using var stop = t.ToScalar();
        using var step = 1L.ToScalar();
        using var positions = arange(first, stop, step, dtype: ScalarType.Int64);
        var words = P("embeddings.word_embeddings.weight").index_select(0, ids.flatten()).view(n, t, -1);
        var x = words.add(P("embeddings.position_embeddings.weight").index_select(0, positions).unsqueeze(0), one)
                     .add(P("embeddings.token_type_embeddings.weight")[0], one);
        x = Norm(x, "embeddings.LayerNorm", P);
        int heads = Config.Heads, size = Config.HeadSize;
        using var scale = (1.0 / Math.Sqrt(size)).ToScalar();
        for (int i = 0; i < Config.Layers; i++)
        {
            string l = $"encoder.layer.{i}.";
            Tensor Split(Tensor y) => y.view(n, t, heads, size).permute(0, 2, 1, 3);  // [N, heads, T, size]
            var q = Split(Linear(x, l + "attention.self.query", P));
            var k = Split(Linear(x, l + "attention.self.key", P));
            var v = Split(Linear(x, l + "attention.self.value", P));
            var scores = q.matmul(k.transpose(-1, -2)).mul(scale).add(additive, one);
            var context = scores.softmax(-1).matmul(v).permute(0, 2, 1, 3).reshape(n, t, -1);
            var attended = Norm(Linear(context, l + "attention.output.dense", P).add(x, one), l + "attention.output.LayerNorm", P);
            var inner = nn.functional.gelu(Linear(attended, l + "intermediate.dense", P)); // exact (erf) GELU, as exported
            x = Norm(Linear(inner, l + "output.dense", P).add(attended, one), l + "output.LayerNorm", P);
        }
        Tensor? pooledOut = pooled ? Linear(x.select(1, 0), "pooler.dense", P).tanh() : null;
        return (x.MoveToOuterDisposeScope(), pooledOut?.MoveToOuterDisposeScope()!);
    }

    static Tensor Linear(Tensor x, string name, Func<string, Tensor> p) => nn.functional.linear(x, p(name + ".weight"), p(name + ".bias"));

    Tensor Norm(Tensor x, string name, Func<string, Tensor> p) =>
        nn.functional.layer_norm(x, [Config.Hidden], p(name + ".weight"), p(name + ".bias"), Config.LayerNormEps);

    Node Root(string name)
    {
        var child = new Node(name);
        register_module(name, child);
        return child;
    }

    static void Weight(Node node, long rows, long columns) => node.Add("weight", zeros(rows, columns));

    static void Dense(Node node, long outputs, long inputs)
    {
        node.Add("weight", zeros(outputs, inputs));
        node.Add("bias", zeros(outputs));
    }

    static void LayerNorm(Node node, long width)
    {
        node.Add("weight", ones(width));
        node.Add("bias", zeros(width));
    }

    /// <summary>A plain container, so parameter names nest as Hugging Face's do.</summary>
    sealed class Node(string name) : nn.Module(name)
    {
        public void Add(string parameter, Tensor value) => register_parameter(parameter, new Parameter(value));

        public Node Child(string name)
        {
            var child = new Node(name);
            register_module(name, child);
            return child;
        }
    }
}
