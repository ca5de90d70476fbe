using TorchSharp;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Alignment.ScalarSafeMath;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// PLeaS step 3 (Nasery et al. 2025, §3.3): fit the merged model layer by layer, in forward order, by least squares.
/// For layer l, X are the merged model's own inputs to l (the layers before l already fitted, so errors do not
/// compound unseen) and Y the targets: ½(A + B) of the two originals' (aligned) outputs of l for merged units, A's
/// output for A's kept units and B's for B's kept units (PLeaS's "average of the permuted features"). Outputs are
/// taken before BatchNorm, as the reference fits its Conv/Linear modules; a layer's BatchNorm statistics are
/// re-estimated from the fitted layer's outputs before the next layer is fitted. Label-free: only images are used.
/// Each unit class is one <see cref="MaskedRidge"/> solve, so kept units of A never read kept units of B (and vice
/// versa) — exactly zero in the result.
/// </summary>
public static class LayerwiseLeastSquares
{
    /// <summary>Allowed input classes per output class (0 merged, 1 kept A, 2 kept B).</summary>
    static readonly bool[][] Reads = [[true, true, true], [true, true, false], [true, false, true]];

    /// <summary>Overwrites the weights (and biases, BatchNorm statistics) of <paramref name="merged"/> with the fitted ones.</summary>
    public static void Fit(IMergeNetwork chain, MergePlan plan, IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> alignedB,
        Dictionary<string, Tensor> merged, IReadOnlyList<Tensor> inputs, double ridge)
    {
        if (inputs.Count == 0) throw new ModelSoupsException("least squares needs at least one batch of data");
        using var _ = no_grad();
        var layers = chain.MergeLayers;
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var output = layer.OutputGroup == MergeLayer.Head ? plan.Head : plan.Groups[layer.OutputGroup];
            var (outA, outB, outClass) = output.Layout();
            int[] inClass = layer.InputGroup == MergeLayer.Data ? new int[a[layer.Weight].shape[1]] : plan.Groups[layer.InputGroup].Layout().Class;
            int area = checked((int)layer.Area);
            int weightFeatures = inClass.Length * area;
            int features = weightFeatures + (layer.Bias is null ? 0 : 1);
            // Feature f of a k×k convolution is input channel f / k² (unfold is channel-major, like the weight's [C, k, k]).
            var featureClass = Enumerable.Range(0, features).Select(f => f < weightFeatures ? inClass[f / area] : -1).ToArray();

            var gram = zeros([features, features], ScalarType.Float64).DetachFromDisposeScope();
            var cross = zeros([features, outClass.Length], ScalarType.Float64).DetachFromDisposeScope();
            using var targetA = tensor(outClass.Select(c => MergedState.VectorA[c]).ToArray());
            using var targetB = tensor(outClass.Select(c => MergedState.VectorB[c]).ToArray());
            using var indexA = tensor(outA);
            using var indexB = tensor(outB);
            foreach (var x in inputs)
            {
                using var scope = NewDisposeScope();
                var xm = Observe(chain, merged, x, l).Input;
                var ya = Observe(chain, a, x, l).Output.index_select(1, indexA);
                var yb = Observe(chain, alignedB, x, l).Output.index_select(1, indexB);
                var features2d = Features(layer, xm);
                var y = Plus(Rows(ya.to_type(ScalarType.Float64)) * targetA, Rows(yb.to_type(ScalarType.Float64)) * targetB);
                AddInPlace(gram, features2d.t().matmul(features2d));
                AddInPlace(cross, features2d.t().matmul(y));
            }

            using var weights = zeros([features, outClass.Length], ScalarType.Float64);
            for (int c = 0; c < 3; c++)
            {
                var outs = Enumerable.Range(0, outClass.Length).Where(o => outClass[o] == c).Select(o => (long)o).ToArray();
                if (outs.Length == 0) continue;
                var allowed = featureClass.Select(fc => fc < 0 || Reads[c][fc]).ToArray();
                using var columns = tensor(outs);
                using var solved = MaskedRidge.Solve(gram, cross.index_select(1, columns), allowed, ridge);
                weights.index_copy_(1, columns, solved);
            }
            gram.Dispose(); cross.Dispose();

            var dtype = merged[layer.Weight].dtype;
            var weight = weights.narrow(0, 0, weightFeatures).t();
            merged[layer.Weight] = (layer.Conv is { } conv ? weight.reshape(outClass.Length, inClass.Length, conv.Kernel[0], conv.Kernel[1]) : weight)
                .to_type(dtype).contiguous().DetachFromDisposeScope();
            if (layer.Bias is { } bias) merged[bias] = weights[weightFeatures].to_type(dtype).contiguous().DetachFromDisposeScope();
            if (layer.BatchNorm is { } bn) EstimateStatistics(chain, merged, inputs, l, bn);
        }
    }

    /// <summary>One layer's observation in a forward pass (moved to the caller's dispose scope).</summary>
    static LayerObservation Observe(IMergeNetwork chain, IReadOnlyDictionary<string, Tensor> state, Tensor x, int layer)
    {
        LayerObservation? seen = null;
        using (chain.Forward(state, x, (l, o) =>
        {
            if (l == layer) seen = new LayerObservation(o.Input.MoveToOuterDisposeScope(), o.Output.MoveToOuterDisposeScope(), o.PreActivation.MoveToOuterDisposeScope());
        })) { }
        return seen!;
    }

    /// <summary>A layer's input as least-squares rows [samples, features] (+ a ones column for the bias).</summary>
    static Tensor Features(MergeLayer layer, Tensor input)
    {
        var x = input;
        if (layer.Conv is { } c)
        {
            // The convolution's own receptive fields: asymmetric padding first (as the module pads), then unfold's patches.
            if (c.ExplicitPad is { } pad) x = nn.functional.pad(x, pad, PaddingModes.Constant, 0.0);
            x = nn.functional.unfold(x, (c.Kernel[0], c.Kernel[1]), (c.Dilation[0], c.Dilation[1]), (c.Padding[0], c.Padding[1]), (c.Stride[0], c.Stride[1]))
                .transpose(1, 2).reshape(-1L, input.shape[1] * layer.Area);
        }
        x = x.to_type(ScalarType.Float64);
        return layer.Bias is not null ? cat([x, ones([x.shape[0], 1], ScalarType.Float64)], 1) : x;
    }

    /// <summary>[N, O] stays; [N, O, H, W] becomes [N·H·W, O].</summary>
    static Tensor Rows(Tensor output) => output.dim() == 2 ? output : output.movedim([1], [-1]).reshape(-1L, output.shape[1]);

    /// <summary>
    /// Sets BatchNorm <paramref name="bn"/>'s running mean and (population) variance to the statistics of layer
    /// <paramref name="l"/>'s outputs over <paramref name="inputs"/>.
    /// </summary>
    public static void EstimateStatistics(IMergeNetwork chain, Dictionary<string, Tensor> merged, IReadOnlyList<Tensor> inputs, int l, string bn)
    {
        Tensor? sum = null, squares = null;
        long n = 0;
        foreach (var x in inputs)
        {
            using var scope = NewDisposeScope();
            var rows = Rows(Observe(chain, merged, x, l).Output.to_type(ScalarType.Float64));
            var s = rows.sum(0L); var q = (rows * rows).sum(0L);
            if (sum is null) { sum = s.DetachFromDisposeScope(); squares = q.DetachFromDisposeScope(); }
            else { AddInPlace(sum, s); AddInPlace(squares!, q); }
            n += rows.shape[0];
        }
        using var mean = Over(sum!, n);
        using var variance = ClampMin(Minus(Over(squares!, n), mean * mean), 0);
        var dtype = merged[$"{bn}.running_mean"].dtype;
        merged[$"{bn}.running_mean"] = mean.to_type(dtype).DetachFromDisposeScope();
        merged[$"{bn}.running_var"] = variance.to_type(dtype).DetachFromDisposeScope();
        sum!.Dispose(); squares!.Dispose();
    }
}
