using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// A residual classifier on an ONNX backbone (<see cref="ResNet18Classifier"/>) as PLeaS merges it: one
/// <see cref="MergeLayer"/> per convolution (with the BatchNorm that reads its output) reading and writing the groups of
/// <see cref="ResidualGraph"/>, and the head reading the last stream. A residual stream is one group, so every
/// convolution that writes into it and every one that reads it share its merge plan: the stream's merged units, A's kept
/// units and B's kept units line up across every Add, and kept units of A and B never mix through the skip path either
/// (an Add of two tensors in one layout keeps each class in place). The functional forward pass runs the graph on any
/// state (any widths) and shows each convolution's input, output and BatchNorm output.
/// </summary>
public sealed class ResidualMergeNetwork : IMergeNetwork
{
    readonly ResNet18Classifier _model;
    readonly List<MergeLayer> _layers = [];
    // Per convolution module: its layer index; per value a BatchNorm writes: the layer it normalises.
    readonly Dictionary<string, int> _layerOfConvOutput = new(StringComparer.Ordinal), _layerOfBatchNormOutput = new(StringComparer.Ordinal);
    readonly Dictionary<int, string> _inputOfLayer = [];

    /// <inheritdoc/>
    public IReadOnlyList<MergeLayer> MergeLayers => _layers;

    /// <summary>The merge layers of <paramref name="model"/> whose groups <paramref name="graph"/> traced.</summary>
    /// <exception cref="ModelSoupsException">A BatchNorm that does not directly follow a convolution, or a convolution read twice by BatchNorms.</exception>
    public ResidualMergeNetwork(ResNet18Classifier model, ResidualGraph graph, string? path = null)
    {
        _model = model;
        string prefix = ResNet18Classifier.BackbonePrefix;
        var batchNormOf = new Dictionary<string, string>(StringComparer.Ordinal);   // conv output value → BN module
        foreach (var step in model.Backbone.Steps.Where(s => s.OpType == "BatchNormalization"))
        {
            if (!model.Backbone.Steps.Any(s => s.OpType == "Conv" && s.Output == step.Inputs[0]) || !batchNormOf.TryAdd(step.Inputs[0], step.Module))
                throw new ModelSoupsException($"BatchNorm {step.Module} does not directly follow a convolution of its own; PLeaS merges conv+BN pairs", path);
        }
        foreach (var step in model.Backbone.Steps.Where(s => s.OpType == "Conv"))
        {
            int l = _layers.Count;
            var bn = batchNormOf.GetValueOrDefault(step.Output);
            _layers.Add(new MergeLayer($"{prefix}{step.Module}.weight", step.Conv!.HasBias ? $"{prefix}{step.Module}.bias" : null,
                bn is null ? null : prefix + bn, graph.ValueGroups[step.Inputs[0]], graph.ValueGroups[step.Output], step.Conv));
            _layerOfConvOutput[step.Output] = l;
            _inputOfLayer[l] = step.Inputs[0];
        }
        foreach (var step in model.Backbone.Steps.Where(s => s.OpType == "BatchNormalization"))
            _layerOfBatchNormOutput[step.Output] = _layerOfConvOutput[step.Inputs[0]];
        _layers.Add(new MergeLayer("fc.weight", "fc.bias", null, graph.ValueGroups[model.Backbone.OutputName], MergeLayer.Head, null));
    }

    /// <inheritdoc/>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> state, Tensor modelInput, Action<int, LayerObservation>? observe = null)
    {
        // No dispose scope of our own around the backbone: what the observer moves out of the graph's scope must land in the caller's.
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [_model.Backbone.InputName] = modelInput };
        var convOutputs = new Dictionary<int, Tensor>();
        var features = _model.Backbone.Forward(modelInput, state, ResNet18Classifier.BackbonePrefix, observe is null ? null : (step, value) =>
        {
            values[step.Output] = value;
            if (_layerOfConvOutput.TryGetValue(step.Output, out var l))
            {
                if (_layers[l].BatchNorm is null) observe(l, new LayerObservation(values[_inputOfLayer[l]].alias(), value.alias(), value.alias()));
                else convOutputs[l] = value;
            }
            else if (_layerOfBatchNormOutput.TryGetValue(step.Output, out var n))
                observe(n, new LayerObservation(values[_inputOfLayer[n]].alias(), convOutputs[n].alias(), value.alias()));
        });
        using (features)
        using (var head = NewDisposeScope())
        {
            var flat = features.flatten(1);
            var logits = nn.functional.linear(flat, state["fc.weight"], state["fc.bias"]);
            // Aliases: the observer may move what it sees out of this scope, the logits returned must stay a tensor of their own.
            observe?.Invoke(_layers.Count - 1, new LayerObservation(flat.alias(), logits.alias(), logits.alias()));
            return logits.MoveToOuterDisposeScope();
        }
    }
}
