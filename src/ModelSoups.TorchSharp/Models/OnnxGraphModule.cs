using ModelSoups.Onnx.Format;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// A trainable TorchSharp module built from an ONNX graph of CNN operators: Conv, BatchNormalization,
/// Relu, MaxPool, AveragePool, GlobalAveragePool, Add, Flatten, Gemm (what image backbones such as the
/// CNTK-exported ResNet-18 in Microsoft.ML.DnnImageFeaturizer.ResNet18 use). Weights become parameters
/// (and BatchNorm statistics buffers) of submodules named after the ONNX nodes, so a state_dict entry
/// reads e.g. <c>Convolution249.weight</c> or <c>BatchNormalization251.running_mean</c>;
/// <see cref="InitializerNames"/> maps each back to its ONNX initializer. Asymmetric pads (CNTK writes
/// pads 1,1,0,0 on strided convolutions) are applied as an explicit pad before the operator, zeros for
/// Conv and −∞ for MaxPool, which reproduces ONNX Runtime exactly. The graph is run in the file's node order.
/// </summary>
public sealed class OnnxGraphModule : nn.Module<Tensor, Tensor>
{
    readonly List<Step> _steps = [];
    readonly string _input, _output;
    readonly Dictionary<string, string> _initializerNames = new(StringComparer.Ordinal);
    readonly IReadOnlyDictionary<string, long[]>? _shapes;
    readonly Dictionary<string, long[]> _convDims = new(StringComparer.Ordinal);

    /// <summary>
    /// One operator: its input value names, its output value name, what it computes with the module's own
    /// weights, and what it computes with weights looked up by state name (a functional call).
    /// </summary>
    sealed record Step(string[] Inputs, string Output, Func<Tensor[], Tensor> Run, Func<Tensor[], Func<string, Tensor>, Tensor> RunWith, OnnxGraphStep Info);

    /// <summary>State-dict name → ONNX initializer name, for writing trained weights back into the ONNX file.</summary>
    public IReadOnlyDictionary<string, string> InitializerNames => _initializerNames;

    /// <summary>The operators in the order the graph runs them, as data (what reads what; convolution geometry).</summary>
    public IReadOnlyList<OnnxGraphStep> Steps => _steps.Select(s => s.Info).ToList();

    /// <summary>The name of the graph's data input value.</summary>
    public string InputName => _input;

    /// <summary>The name of the graph's output value.</summary>
    public string OutputName => _output;

    /// <summary>
    /// Builds the module. With <paramref name="globalFinalPool"/>, an AveragePool without padding whose
    /// output is the graph output becomes a global average pool, so the backbone accepts any input
    /// resolution (ResNet-18's final 7×7 pool equals a global pool at 224×224, where the two agree exactly).
    /// </summary>
    /// <param name="model">The graph.</param>
    /// <param name="globalFinalPool">Whether the final average pool becomes a global one.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="shapes">
    /// Optional state names (this module's, e.g. <c>Convolution257.weight</c>) → shapes that replace the ONNX initializers'
    /// (a PLeaS merge widens channel groups). A Conv or BatchNorm whose shape is replaced starts at TorchSharp's default
    /// initialisation instead of the file's values and is meant to be loaded from a checkpoint.
    /// </param>
    public OnnxGraphModule(OnnxModel model, bool globalFinalPool = false, string? path = null, IReadOnlyDictionary<string, long[]>? shapes = null) : base(nameof(OnnxGraphModule))
    {
        _shapes = shapes;
        var g = model.Graph;
        var dataInputs = g.DataInputs.ToList();
        if (dataInputs.Count != 1 || g.Outputs.Count != 1)
            throw new OnnxFormatException($"the graph has {dataInputs.Count} data inputs and {g.Outputs.Count} outputs; one of each is supported", path);
        _input = dataInputs[0].Name;
        _output = g.Outputs[0].Name;
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, index) in g.Nodes.Select((n, i) => (n, i)))
        {
            if (node.Domain is not ("" or "ai.onnx"))
                throw new OnnxFormatException($"node '{node.Name}' uses operator domain '{node.Domain}', which is not supported", path);
            if (node.Outputs.Count < 1) throw new OnnxFormatException($"node '{node.Name}' has no output", path);
            string moduleName = ModuleName(node, index, usedNames);
            var data = node.Inputs.Where(i => i.Length > 0 && !g.InitializersByName.ContainsKey(i)).ToArray();
            (Func<Tensor[], Tensor> run, Func<Tensor[], Func<string, Tensor>, Tensor> runWith) = node.OpType switch
            {
                "Conv" => Conv(node, moduleName, g, path),
                "BatchNormalization" => BatchNorm(node, moduleName, g, path),
                "Gemm" => Gemm(node, moduleName, g, path),
                "Relu" => Stateless(x => nn.functional.relu(x[0])),
                "Add" => Stateless(Add),
                "Flatten" => Stateless(Flatten(node)),
                "MaxPool" => Stateless(MaxPool(node, path)),
                "AveragePool" => Stateless(AveragePool(node, globalFinalPool && node.Outputs[0] == _output, path)),
                "GlobalAveragePool" => Stateless(x => x[0].mean([2, 3], keepdim: true)),
                _ => throw new OnnxFormatException($"node '{node.Name}' is a {node.OpType}, which this importer does not support", path),
            };
            int expectedData = node.OpType == "Add" ? 2 : 1;
            if (data.Length != expectedData)
                throw new OnnxFormatException($"node '{node.Name}' ({node.OpType}) has {data.Length} non-weight inputs; {expectedData} expected", path);
            _steps.Add(new Step(data, node.Outputs[0], run, runWith,
                new OnnxGraphStep(node.OpType, moduleName, data, node.Outputs[0], node.OpType == "Conv" ? Geometry(node, _convDims[moduleName], path) : null)));
        }
        RegisterComponents();
    }

    /// <summary>Runs the graph. Intermediate values are disposed as soon as no later step reads them.</summary>
    public override Tensor forward(Tensor input) => Run(input, null);

    /// <summary>
    /// Runs the graph on the tensors of <paramref name="state"/> (names <paramref name="prefix"/> + this module's
    /// state names) instead of its own, with inference-form BatchNorm (running statistics from the state),
    /// so gradients flow into whatever the state tensors were computed from (torch.func.functional_call).
    /// </summary>
    public Tensor Forward(Tensor input, IReadOnlyDictionary<string, Tensor> state, string prefix = "") => Forward(input, state, prefix, null);

    /// <summary>
    /// <see cref="Forward(Tensor, IReadOnlyDictionary{string, Tensor}, string)"/>, and <paramref name="observe"/> (if given) sees every
    /// step's output value as it is computed. The tensors it sees are disposed when the call returns, unless it moves them out.
    /// </summary>
    public Tensor Forward(Tensor input, IReadOnlyDictionary<string, Tensor> state, string prefix, Action<OnnxGraphStep, Tensor>? observe) =>
        Run(input, name => state.TryGetValue(prefix + name, out var t) ? t
            : throw new ArgumentException($"the state has no tensor '{prefix + name}'", nameof(state)), observe);

    Tensor Run(Tensor input, Func<string, Tensor>? lookup, Action<OnnxGraphStep, Tensor>? observe = null)
    {
        using var scope = NewDisposeScope();
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [_input] = input };
        foreach (var step in _steps)
        {
            var args = new Tensor[step.Inputs.Length];
            for (int i = 0; i < args.Length; i++)
            {
                if (!values.TryGetValue(step.Inputs[i], out var v))
                    throw new InvalidOperationException($"ONNX value '{step.Inputs[i]}' is used before it is computed");
                args[i] = v;
            }
            values[step.Output] = lookup is null ? step.Run(args) : step.RunWith(args, lookup);
            observe?.Invoke(step.Info, values[step.Output]);
        }
        return values[_output].MoveToOuterDisposeScope();
    }

    string ModuleName(OnnxNode node, int index, HashSet<string> used)
    {
        var name = new string(node.Name.Select(c => char.IsLetterOrDigit(c) || c == '_' ? c : '_').ToArray());
        if (name.Length == 0) name = $"{node.OpType}_{index}";
        while (!used.Add(name)) name += "_";
        return name;
    }

    static float[] Floats(OnnxGraph g, OnnxNode node, int input, string? path)
    {
        if (node.Inputs.Count <= input || !g.InitializersByName.TryGetValue(node.Inputs[input], out var t))
            throw new OnnxFormatException($"node '{node.Name}' ({node.OpType}) needs input {input} to be an initializer", path);
        return t.ToFloatArray();
    }

    static void Set(Tensor target, float[] values)
    {
        using var _ = no_grad();
        using var src = tensor(values).reshape(target.shape);
        target.copy_(src);
    }

    void Remember(string stateName, OnnxNode node, int input) => _initializerNames[stateName] = node.Inputs[input];

    /// <summary>ONNX pads are [begin per spatial axis..., end per spatial axis...]; F.pad wants (left, right, top, bottom).</summary>
    static (long[] Symmetric, long[]? Explicit) Pads(OnnxNode node, string? path)
    {
        if (node.GetString("auto_pad", "NOTSET") is not ("NOTSET" or "VALID"))
            throw new OnnxFormatException($"node '{node.Name}' uses auto_pad={node.GetString("auto_pad", "")}, which is not supported", path);
        var p = node.GetInts("pads", [0, 0, 0, 0]);
        if (p.Count != 4) throw new OnnxFormatException($"node '{node.Name}' has {p.Count} pads; 2-D operators need 4", path);
        if (p[0] == p[2] && p[1] == p[3]) return ([p[0], p[1]], null);
        return ([0, 0], [p[1], p[3], p[0], p[2]]);
    }

    static long[] Pair(OnnxNode node, string name, long fallback, string? path)
    {
        var v = node.GetInts(name, [fallback, fallback]);
        if (v.Count != 2) throw new OnnxFormatException($"node '{node.Name}' has {name} of length {v.Count}; 2-D operators need 2", path);
        return [v[0], v[1]];
    }

    static (Func<Tensor[], Tensor>, Func<Tensor[], Func<string, Tensor>, Tensor>) Stateless(Func<Tensor[], Tensor> run) =>
        (run, (x, _) => run(x));

    (Func<Tensor[], Tensor>, Func<Tensor[], Func<string, Tensor>, Tensor>) Conv(OnnxNode node, string name, OnnxGraph g, string? path)
    {
        var w = g.InitializersByName.GetValueOrDefault(node.Inputs.ElementAtOrDefault(1) ?? "")
            ?? throw new OnnxFormatException($"node '{node.Name}' (Conv) needs its weight as an initializer", path);
        if (w.Dims.Length != 4) throw new OnnxFormatException($"node '{node.Name}' has a {w.Dims.Length}-D weight; only 2-D convolutions are supported", path);
        long groups = node.GetInt("group", 1);
        bool hasBias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0;
        var (pad, explicitPad) = Pads(node, path);
        var stride = Pair(node, "strides", 1, path);
        var dilation = Pair(node, "dilations", 1, path);
        var dims = _shapes?.GetValueOrDefault($"{name}.weight") ?? w.Dims;
        if (dims.Length != 4 || dims[2] != w.Dims[2] || dims[3] != w.Dims[3])
            throw new OnnxFormatException($"node '{node.Name}' cannot take the weight shape [{string.Join(", ", dims)}]: only the channel counts may change", path);
        bool fromFile = dims.SequenceEqual(w.Dims);
        _convDims[name] = dims;
        var conv = nn.Conv2d(dims[1] * groups, dims[0], (dims[2], dims[3]), stride: (stride[0], stride[1]),
            padding: (pad[0], pad[1]), dilation: (dilation[0], dilation[1]), groups: groups, bias: hasBias);
        if (fromFile) Set(conv.weight!, w.ToFloatArray());
        Remember($"{name}.weight", node, 1);
        if (hasBias)
        {
            if (fromFile) Set(conv.bias!, Floats(g, node, 2, path));
            Remember($"{name}.bias", node, 2);
        }
        register_module(name, conv);
        Tensor With(Tensor x, Func<string, Tensor> p) =>
            nn.functional.conv2d(x, p($"{name}.weight"), hasBias ? p($"{name}.bias") : null, stride, pad, dilation, groups);
        if (explicitPad is null) return (x => conv.call(x[0]), (x, p) => With(x[0], p));
        return (x =>
        {
            using var padded = nn.functional.pad(x[0], explicitPad, PaddingModes.Constant, 0.0);
            return conv.call(padded);
        }, (x, p) =>
        {
            using var padded = nn.functional.pad(x[0], explicitPad, PaddingModes.Constant, 0.0);
            return With(padded, p);
        });
    }

    static ConvGeometry Geometry(OnnxNode node, long[] dims, string? path)
    {
        var (pad, explicitPad) = Pads(node, path);
        long groups = node.GetInt("group", 1);
        return new ConvGeometry(dims[0], dims[1] * groups, [dims[2], dims[3]], Pair(node, "strides", 1, path), pad, explicitPad,
            Pair(node, "dilations", 1, path), groups, node.Inputs.Count > 2 && node.Inputs[2].Length > 0);
    }

    (Func<Tensor[], Tensor>, Func<Tensor[], Func<string, Tensor>, Tensor>) BatchNorm(OnnxNode node, string name, OnnxGraph g, string? path)
    {
        // Inference-form BatchNormalization (opset ≥ 7): inputs X, scale, B, mean, var.
        if (node.Inputs.Count != 5) throw new OnnxFormatException($"node '{node.Name}' (BatchNormalization) has {node.Inputs.Count} inputs; 5 expected", path);
        var scale = Floats(g, node, 1, path);
        long features = _shapes?.GetValueOrDefault($"{name}.weight") is { Length: 1 } resized ? resized[0] : scale.Length;
        // Momentum is PyTorch's default 0.1 for fine-tuning: ONNX/CNTK momentum uses the opposite convention
        // and describes the original training, not ours.
        var bn = new ScalarSafeBatchNorm2d(features, eps: node.GetFloat("epsilon", 1e-5f), momentum: 0.1);
        if (features == scale.Length)
        {
            Set(bn.weight, scale);
            Set(bn.bias, Floats(g, node, 2, path));
            Set(bn.running_mean, Floats(g, node, 3, path));
            Set(bn.running_var, Floats(g, node, 4, path));
        }
        Remember($"{name}.weight", node, 1);
        Remember($"{name}.bias", node, 2);
        Remember($"{name}.running_mean", node, 3);
        Remember($"{name}.running_var", node, 4);
        register_module(name, bn);
        double eps = bn.Eps;
        return (x => bn.call(x[0]), (x, p) => FunctionalBatchNorm.Inference(x[0],
            p($"{name}.running_mean"), p($"{name}.running_var"), p($"{name}.weight"), p($"{name}.bias"), eps));
    }

    (Func<Tensor[], Tensor>, Func<Tensor[], Func<string, Tensor>, Tensor>) Gemm(OnnxNode node, string name, OnnxGraph g, string? path)
    {
        if (node.GetInt("transA", 0) != 0 || node.GetFloat("alpha", 1f) != 1f || node.GetFloat("beta", 1f) != 1f)
            throw new OnnxFormatException($"node '{node.Name}' (Gemm) uses transA/alpha/beta, which are not supported", path);
        var b = g.InitializersByName.GetValueOrDefault(node.Inputs.ElementAtOrDefault(1) ?? "")
            ?? throw new OnnxFormatException($"node '{node.Name}' (Gemm) needs B as an initializer", path);
        if (b.Dims.Length != 2) throw new OnnxFormatException($"node '{node.Name}' (Gemm) has a {b.Dims.Length}-D B", path);
        bool transB = node.GetInt("transB", 0) != 0;
        long outFeatures = transB ? b.Dims[0] : b.Dims[1], inFeatures = transB ? b.Dims[1] : b.Dims[0];
        bool hasBias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0;
        var linear = nn.Linear(inFeatures, outFeatures, hasBias);
        using (var wb = tensor(b.ToFloatArray()).reshape(b.Dims))
        using (no_grad())
        {
            linear.weight!.copy_(transB ? wb : wb.t());
        }
        Remember($"{name}.weight", node, 1);
        if (hasBias)
        {
            var c = Floats(g, node, 2, path);
            if (c.Length != outFeatures) throw new OnnxFormatException($"node '{node.Name}' (Gemm) has a bias C that is not one value per output", path);
            Set(linear.bias!, c);
            Remember($"{name}.bias", node, 2);
        }
        register_module(name, linear);
        return (x => linear.call(x[0]), (x, p) => nn.functional.linear(x[0], p($"{name}.weight"), hasBias ? p($"{name}.bias") : null));
    }

    // `a + b` would call add(b, alpha: 1) with an implicit Scalar that TorchSharp 0.107 leaves to the finalizer, which can
    // free it while libtorch still reads it ("Unknown scalar type"; dotnet/TorchSharp#1434): the alpha is explicit here.
    static Tensor Add(Tensor[] x)
    {
        using var one = 1.ToScalar();
        return x[0].add(x[1], one);
    }

    static Func<Tensor[], Tensor> Flatten(OnnxNode node)
    {
        long axis = node.GetInt("axis", 1);
        return x => x[0].reshape(axis == 0 ? 1 : x[0].shape.Take((int)axis).Aggregate(1L, (a, d) => a * d), -1);
    }

    static Func<Tensor[], Tensor> MaxPool(OnnxNode node, string? path)
    {
        if (node.GetInt("storage_order", 0) != 0 || node.GetInt("ceil_mode", 0) != 0)
            throw new OnnxFormatException($"node '{node.Name}' (MaxPool) uses storage_order or ceil_mode, which are not supported", path);
        var kernel = Pair(node, "kernel_shape", 1, path);
        var stride = Pair(node, "strides", 1, path);
        var (pad, explicitPad) = Pads(node, path);
        if (explicitPad is null)
            return x => nn.functional.max_pool2d(x[0], kernel, stride, pad);
        return x =>
        {
            // Max pooling pads with −∞ so a padded cell never wins (ONNX semantics).
            using var padded = nn.functional.pad(x[0], explicitPad, PaddingModes.Constant, double.NegativeInfinity);
            return nn.functional.max_pool2d(padded, kernel, stride);
        };
    }

    static Func<Tensor[], Tensor> AveragePool(OnnxNode node, bool global, string? path)
    {
        var kernel = Pair(node, "kernel_shape", 1, path);
        var stride = Pair(node, "strides", 1, path);
        var (pad, explicitPad) = Pads(node, path);
        bool countPad = node.GetInt("count_include_pad", 0) != 0;
        if (explicitPad is not null)
            throw new OnnxFormatException($"node '{node.Name}' (AveragePool) has asymmetric pads, which are not supported", path);
        if (global && pad[0] == 0 && pad[1] == 0) return x => x[0].mean([2, 3], keepdim: true);
        return x => nn.functional.avg_pool2d(x[0], kernel, stride, pad, count_include_pad: countPad);
    }
}
