using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.Onnx.Format;
using ModelSoups.Tensors;

namespace ModelSoups.Onnx;

/// <summary>
/// Evaluates candidates with ONNX Runtime: one ONNX classifier graph whose initializers are replaced
/// by the candidate's tensors (matched by name, or through an <see cref="OnnxNameMap"/>), run over
/// held-out inputs and labels. Score: top-1 accuracy; metrics: top1, top5 (≥ 5 classes), loss
/// (mean cross-entropy), examples; logits are returned for ensembles.
/// Weights are written into the model bytes before the session is created, never passed as
/// <c>SessionOptions.AddInitializer</c> overrides: with graph optimisations on, ONNX Runtime folds
/// e.g. BatchNorm into Conv at load time and then silently ignores overrides of the folded weights
/// (and of unknown names). Rewriting keeps full optimisation and cannot be ignored.
/// </summary>
public sealed class OnnxEvaluator : IEvaluator
{
    /// <summary>At most this many offending names are listed in an error.</summary>
    private const int NamesInMessage = 10;

    private readonly OnnxModel _model;
    private readonly string _modelPath;
    private readonly OnnxEvaluatorOptions _options;
    private readonly OnnxNameMap _nameMap;
    private readonly float[] _inputs;
    private readonly long[] _exampleShape;
    private readonly int[] _labels;
    private readonly string _inputName, _outputName;
    private readonly int _batch;
    private readonly bool _fixedBatch;
    private readonly int? _classes;
    private readonly string _modelHash;
    private readonly string _dataLocation;

    /// <param name="modelPath">The ONNX model file.</param>
    /// <param name="data">Held-out data: an inputs tensor and a labels tensor (e.g. a safetensors file opened as a checkpoint). Read once, here.</param>
    /// <param name="options">Tensor names, batch size, name map, execution provider.</param>
    public OnnxEvaluator(string modelPath, ICheckpoint data, OnnxEvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        _options = options ?? new OnnxEvaluatorOptions();
        _nameMap = _options.NameMap ?? OnnxNameMap.Identity;
        modelPath = Path.GetFullPath(modelPath);
        if (!File.Exists(modelPath)) throw new ModelSoupsException("the ONNX model does not exist.", modelPath);
        _modelPath = modelPath;
        _model = OnnxModel.Load(modelPath);
        if (_model.Graph.Outputs.Count == 0)
            throw new ModelSoupsException("the file is not an ONNX model: its graph has no outputs.", modelPath);
        _modelHash = Convert.ToHexStringLower(SHA256.HashData(_model.Bytes))[..16];
        _dataLocation = data.Location;
        if (_options.BatchSize <= 0) throw new ModelSoupsException($"the batch size must be positive, got {_options.BatchSize}.");

        var graph = _model.Graph;
        var dataInputs = graph.DataInputs.ToList();
        var input = _options.InputName is null
            ? dataInputs.FirstOrDefault() ?? throw new ModelSoupsException("the ONNX graph has no input to feed data into (every input is an initializer).", modelPath)
            : dataInputs.FirstOrDefault(i => i.Name == _options.InputName) ??
              throw new ModelSoupsException($"the ONNX graph has no data input '{_options.InputName}' (inputs: {string.Join(", ", dataInputs.Select(i => i.Name))}).", modelPath);
        if (dataInputs.Count > 1 && _options.InputName is null)
            throw new ModelSoupsException($"the ONNX graph has several data inputs ({string.Join(", ", dataInputs.Select(i => i.Name))}); this evaluator feeds one; name it.", modelPath);
        if (input.ElementType != OnnxDataType.Float)
            throw new ModelSoupsException($"the ONNX graph's input '{input.Name}' is {input.ElementType}; this evaluator feeds float32 inputs only.", modelPath);
        var output = _options.OutputName is null ? graph.Outputs[0] :
            graph.Outputs.FirstOrDefault(o => o.Name == _options.OutputName) ??
            throw new ModelSoupsException($"the ONNX graph has no output '{_options.OutputName}' (outputs: {string.Join(", ", graph.Outputs.Select(o => o.Name))}).", modelPath);
        _inputName = input.Name;
        _outputName = output.Name;
        if (output.Shape is [_, > 0 and long classes]) _classes = checked((int)classes);

        // Data: inputs [N, …] floats, labels [N] integers.
        var inputsRef = Tensor(data, _options.InputsTensor);
        var labelsRef = Tensor(data, _options.LabelsTensor);
        if (!inputsRef.DType.IsFloat())
            throw new ModelSoupsException($"the inputs tensor '{inputsRef.Name}' is {inputsRef.DType}; it must be a float type.", data.Location);
        if (inputsRef.Shape.Length < 1)
            throw new ModelSoupsException($"the inputs tensor '{inputsRef.Name}' must have an examples dimension, its shape is {inputsRef.Info.ShapeText}.", data.Location);
        if (labelsRef.Shape.Length != 1)
            throw new ModelSoupsException($"the labels tensor '{labelsRef.Name}' must be one-dimensional [examples], its shape is {labelsRef.Info.ShapeText}.", data.Location);
        long n = inputsRef.Shape[0];
        if (labelsRef.Shape[0] != n)
            throw new ModelSoupsException($"the inputs tensor has {n} examples but the labels tensor has {labelsRef.Shape[0]}.", data.Location);
        _exampleShape = inputsRef.Shape[1..];
        // Dimensions the graph fixes (dim_value > 0) must match; symbolic or unknown ones take any size.
        if (input.HasShape)
        {
            var id = input.Shape;
            if (id.Count != inputsRef.Shape.Length)
                throw new ModelSoupsException($"the ONNX input '{input.Name}' has rank {id.Count} but the inputs tensor is {inputsRef.Info.ShapeText}.", data.Location);
            for (int d = 1; d < id.Count; d++)
                if (id[d] is > 0 and long want && want != inputsRef.Shape[d])
                    throw new ModelSoupsException($"the ONNX input '{input.Name}' wants dimension {d} = {want}, the inputs tensor is {inputsRef.Info.ShapeText}.", data.Location);
            if (id[0] is > 0 and long fixedBatch)
            {
                _fixedBatch = true;
                _batch = checked((int)fixedBatch);
            }
        }
        if (!_fixedBatch) _batch = _options.BatchSize;

        _inputs = new float[inputsRef.ElementCount];
        DTypeConversion.ToSingle(inputsRef.DType, inputsRef.GetBytes(), _inputs);
        _labels = ReadLabels(labelsRef, data.Location);
        for (int i = 0; i < _labels.Length; i++)
            if (_labels[i] < 0 || (_classes is { } c && _labels[i] >= c))
                throw new ModelSoupsException($"label {_labels[i]} of example {i} is out of range" +
                    (_classes is { } k ? $" for {k} classes." : " (negative)."), data.Location);
    }

    public string Description =>
        $"onnx {_modelPath} sha256:{_modelHash} data {_dataLocation} {_options.InputsTensor}/{_options.LabelsTensor} ({_labels.Length} examples)";

    public bool NeedsFolder => false;
    public bool ProvidesLogits => true;

    /// <summary>Number of held-out examples.</summary>
    public int ExampleCount => _labels.Length;

    public EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default)
    {
        var checkpoint = candidate.RequireCheckpoint("ONNX");
        var modelBytes = _model.WithInitializers(Replacements(checkpoint, candidate.Name));
        cancellationToken.ThrowIfCancellationRequested();

        using var sessionOptions = CreateSessionOptions(candidate.Name);
        InferenceSession session;
        try { session = new InferenceSession(modelBytes, sessionOptions); }
        catch (OnnxRuntimeException e)
        {
            throw new EvaluationException(candidate.Name, $"ONNX Runtime cannot load the model with candidate '{candidate.Name}''s weights: {e.Message}", _modelPath, e);
        }
        using (session)
        {
            int n = _labels.Length;
            long perExample = _exampleShape.Aggregate(1L, (a, d) => a * d);
            float[]? logits = null;
            int classes = 0;
            var padded = _fixedBatch ? new float[_batch * perExample] : null;
            for (int start = 0; start < n; start += _batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(_batch, n - start);
                int runSize = _fixedBatch ? _batch : count;
                Memory<float> batch = _inputs.AsMemory(checked((int)(start * perExample)), checked((int)(count * perExample)));
                if (padded is not null)
                {
                    Array.Clear(padded);
                    batch.CopyTo(padded);
                    batch = padded;
                }
                using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch, [runSize, .. _exampleShape]);
                using var outputs = Run(session, value, candidate.Name);
                var output = outputs[0];
                var shape = output.GetTensorTypeAndShape();
                if (shape.ElementDataType != TensorElementType.Float || shape.Shape.Length < 1 || shape.Shape[0] != runSize || shape.ElementCount % runSize != 0)
                    throw new EvaluationException(candidate.Name, $"the ONNX output '{_outputName}' must be float32 logits [batch, classes], got {shape.ElementDataType} [{string.Join(", ", shape.Shape)}].", _modelPath);
                int c = checked((int)(shape.ElementCount / runSize));
                if (logits is null)
                {
                    classes = c;
                    for (int i = 0; i < n; i++)
                        if (_labels[i] >= classes)
                            throw new EvaluationException(candidate.Name, $"label {_labels[i]} of example {i} is out of range for the model's {classes} classes.", _dataLocation);
                    logits = new float[(long)n * classes];
                }
                output.GetTensorDataAsSpan<float>()[..(count * classes)].CopyTo(logits.AsSpan(start * classes));
            }
            return ClassificationMetrics.Compute(logits ?? [], _labels, Math.Max(classes, _classes ?? 1));
        }
    }

    private IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, OrtValue input, string candidate)
    {
        try
        {
            using var runOptions = new RunOptions();
            return session.Run(runOptions, [_inputName], [input], [_outputName]);
        }
        catch (OnnxRuntimeException e)
        {
            throw new EvaluationException(candidate, $"ONNX Runtime failed to run the model for candidate '{candidate}': {e.Message}", _modelPath, e);
        }
    }

    private SessionOptions CreateSessionOptions(string candidate)
    {
        var so = new SessionOptions { GraphOptimizationLevel = _options.Optimization };
        if (_options.UseCuda)
        {
            try { so.AppendExecutionProvider_CUDA(_options.CudaDevice); }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                so.Dispose();
                throw new EvaluationException(candidate, $"the CUDA execution provider is not available (device {_options.CudaDevice}): {e.Message}; run on the CPU or install the GPU build of ONNX Runtime.", inner: e);
            }
        }
        return so;
    }

    private readonly SortedSet<string> _skipped = new(StringComparer.Ordinal);

    /// <summary>What the user should know about evaluations so far (integer tensors skipped because the graph has no initializer for them).</summary>
    public IReadOnlyList<string> Notes
    {
        get
        {
            lock (_skipped)
                return _skipped.Count == 0 ? [] :
                [
                    $"skipped {_skipped.Count} integer tensor(s) that have no initializer in the ONNX graph (buffers such as num_batches_tracked do not affect inference): {List([.. _skipped])}.",
                ];
        }
    }

    /// <summary>The candidate's tensors as raw bytes in each initializer's own type; refuses unknown names and mismatches.</summary>
    private Dictionary<string, byte[]> Replacements(ICheckpoint checkpoint, string candidate)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var unknown = new List<string>();
        var mismatched = new List<string>();
        foreach (var (name, tensor) in checkpoint.Tensors)
        {
            if (!_nameMap.TryMap(name, out var onnxName)) continue;
            if (!_model.Graph.InitializersByName.TryGetValue(onnxName, out var init))
            {
                // torch.onnx folds integer buffers such as BatchNorm's num_batches_tracked away: they do not
                // affect inference, so they are skipped (with a note); a float tensor without a home is an error.
                if (!tensor.DType.IsFloat())
                {
                    lock (_skipped) _skipped.Add(name);
                    continue;
                }
                unknown.Add(onnxName == name ? name : $"{name} → {onnxName}");
                continue;
            }
            if (!tensor.Shape.AsSpan().SequenceEqual(init.Dims))
            {
                mismatched.Add($"{name} is {tensor.Info.ShapeText}, initializer {init.DimsText}");
                continue;
            }
            bool known = init.DataType.TryToDType(out var target);
            if (known && target == tensor.DType)
                result[onnxName] = tensor.GetBytes().ToArray();
            else if (known && target == DType.F32 && tensor.DType.IsFloat())
            {
                var f = new float[tensor.ElementCount];
                DTypeConversion.ToSingle(tensor.DType, tensor.GetBytes(), f);
                result[onnxName] = MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
            }
            else mismatched.Add($"{name} is {tensor.DType}, initializer {init.DataType}");
        }
        if (unknown.Count > 0)
            throw new EvaluationException(candidate,
                $"candidate '{candidate}' has {unknown.Count} tensor(s) with no initializer in the ONNX graph: {List(unknown)}; map or drop them with a name map.", _modelPath);
        if (mismatched.Count > 0)
            throw new EvaluationException(candidate,
                $"candidate '{candidate}' has {mismatched.Count} tensor(s) that do not fit the ONNX graph: {List(mismatched)}.", _modelPath);
        return result;
    }

    private static string List(List<string> items) =>
        string.Join(", ", items.Take(NamesInMessage)) + (items.Count > NamesInMessage ? $" and {items.Count - NamesInMessage} more" : "");

    private static TensorRef Tensor(ICheckpoint data, string name) =>
        data.Tensors.TryGetValue(name, out var t) ? t :
        throw new ModelSoupsException($"the data has no tensor '{name}' (it has: {string.Join(", ", data.Tensors.Keys.Take(NamesInMessage))}).", data.Location);

    private static int[] ReadLabels(TensorRef t, string location)
    {
        var bytes = t.GetBytes();
        var labels = new int[t.ElementCount];
        switch (t.DType)
        {
            case DType.I64:
                var l = MemoryMarshal.Cast<byte, long>(bytes);
                for (int i = 0; i < l.Length; i++)
                    labels[i] = l[i] is >= int.MinValue and <= int.MaxValue ? (int)l[i] :
                        throw new ModelSoupsException($"label {l[i]} of example {i} is out of range.", location);
                break;
            case DType.I32: MemoryMarshal.Cast<byte, int>(bytes).CopyTo(labels); break;
            case DType.I16: { var s = MemoryMarshal.Cast<byte, short>(bytes); for (int i = 0; i < s.Length; i++) labels[i] = s[i]; break; }
            case DType.I8: for (int i = 0; i < bytes.Length; i++) labels[i] = (sbyte)bytes[i]; break;
            case DType.U8: for (int i = 0; i < bytes.Length; i++) labels[i] = bytes[i]; break;
            default: throw new ModelSoupsException($"the labels tensor '{t.Name}' is {t.DType}; it must be an integer type.", location);
        }
        return labels;
    }
}
