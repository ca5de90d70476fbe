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
    public static void Fit(LayerChain chain, MergePlan plan, IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> alignedB,
        Dictionary<string, Tensor> merged, IReadOnlyList<Tensor> inputs, double ridge)
    {
        if (inputs.Count == 0) throw new ModelSoupsException("least squares needs at least one batch of data");
        using var _ = no_grad();
        for (int l = 0; l < chain.Layers.Count; l++)
        {
            var layer = chain.Layers[l];
            var output = l < plan.Groups.Count ? plan.Groups[l] : plan.Head;
            var (outA, outB, outClass) = output.Layout();
            int[] inClass = l == 0 ? new int[a[layer.Weight].shape[1]] : plan.Groups[l - 1].Layout().Class;
            int area = layer.Kind == ChainLayerKind.Conv3x3 ? 9 : 1;
            int weightFeatures = inClass.Length * area;
            int features = weightFeatures + (layer.HasBias ? 1 : 0);
            // Feature f of a 3×3 convolution is input channel f / 9 (unfold is channel-major, like the weight's [C, 3, 3]).
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
            merged[layer.Weight] = (area == 1 ? weight : weight.reshape(outClass.Length, inClass.Length, 3, 3)).to_type(dtype).contiguous().DetachFromDisposeScope();
            if (layer.HasBias) merged[layer.Bias] = weights[weightFeatures].to_type(dtype).contiguous().DetachFromDisposeScope();
            if (layer.BatchNorm is { } bn) EstimateStatistics(chain, merged, inputs, l, bn);
        }
    }

    /// <summary>One layer's observation in a forward pass (moved to the caller's dispose scope).</summary>
    static LayerObservation Observe(LayerChain chain, IReadOnlyDictionary<string, Tensor> state, Tensor x, int layer)
    {
        LayerObservation? seen = null;
        using (chain.Forward(state, x, (l, o) =>
        {
            if (l == layer) seen = new LayerObservation(o.Input.MoveToOuterDisposeScope(), o.Output.MoveToOuterDisposeScope(), o.PreActivation.MoveToOuterDisposeScope());
        })) { }
        return seen!;
    }

    /// <summary>A layer's input as least-squares rows [samples, features] (+ a ones column for the bias).</summary>
    static Tensor Features(ChainLayer layer, Tensor input)
    {
        var x = layer.Kind == ChainLayerKind.Conv3x3
            ? nn.functional.unfold(input, 3, padding: 1).transpose(1, 2).reshape(-1L, input.shape[1] * 9)
            : input;
        x = x.to_type(ScalarType.Float64);
        return layer.HasBias ? cat([x, ones([x.shape[0], 1], ScalarType.Float64)], 1) : x;
    }

    /// <summary>[N, O] stays; [N, O, H, W] becomes [N·H·W, O].</summary>
    static Tensor Rows(Tensor output) => output.dim() == 2 ? output : output.movedim([1], [-1]).reshape(-1L, output.shape[1]);

    /// <summary>
    /// Sets BatchNorm <paramref name="bn"/>'s running mean and (population) variance to the statistics of layer
    /// <paramref name="l"/>'s outputs over <paramref name="inputs"/>.
    /// </summary>
    public static void EstimateStatistics(LayerChain chain, Dictionary<string, Tensor> merged, IReadOnlyList<Tensor> inputs, int l, string bn)
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
