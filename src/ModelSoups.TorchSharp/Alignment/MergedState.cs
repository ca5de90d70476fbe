using TorchSharp;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Alignment.ScalarSafeMath;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// The merged model's starting weights for a <see cref="MergePlan"/>, from the reference A and the aligned model B.
/// Per unit class (M merged, K_A kept from A, K_B kept from B) a weight reading input class c gets:
/// out M ← in M: ½A + ½B, in K_A: ½A, in K_B: ½B (a merged unit is the average of its two units, each reading its own
/// model's inputs); out K_A ← in M or K_A: A, in K_B: 0; out K_B ← in M or K_B: B, in K_A: 0. Vectors (bias,
/// BatchNorm): M ½A + ½B, K_A A, K_B B. With every unit merged this is exactly averaging A and aligned B
/// (permute-then-average; with B unaligned, naive averaging). The two zero blocks are PLeaS's structural zeros:
/// a kept unit of one model never reads the other model's kept units.
/// </summary>
public static class MergedState
{
    // [output class, input class] coefficients of A and of B.
    static readonly double[,] MatrixA = { { 0.5, 0.5, 0 }, { 1, 1, 0 }, { 0, 0, 0 } };
    static readonly double[,] MatrixB = { { 0.5, 0, 0.5 }, { 0, 0, 0 }, { 1, 0, 1 } };
    // [output class] coefficients of vectors, and of targets in least squares.
    internal static readonly double[] VectorA = [0.5, 1, 0], VectorB = [0.5, 0, 1];

    /// <summary>Every state entry of the merged model (names as in A; shapes at the plan's widths).</summary>
    public static Dictionary<string, Tensor> Build(IMergeNetwork network, PermutationSpec spec, MergePlan plan,
        IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> alignedB)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var axes = AxisPlans(network, spec, plan);
        foreach (var (name, ta) in a)
        {
            if (!axes.TryGetValue(name, out var byAxis))
            {
                result[name] = ta.clone().DetachFromDisposeScope();  // e.g. num_batches_tracked
                continue;
            }
            result[name] = Combine(ta, alignedB[name], byAxis.GetValueOrDefault(0), byAxis.GetValueOrDefault(1)).DetachFromDisposeScope();
        }
        return result;
    }

    /// <summary>For every tensor a layer owns: the plan of its axis 0 (outputs) and axis 1 (inputs; null = the data, all "merged").</summary>
    internal static Dictionary<string, Dictionary<int, GroupPlan?>> AxisPlans(IMergeNetwork network, PermutationSpec spec, MergePlan plan)
    {
        if (plan.Groups.Count != spec.Groups.Count) throw new ArgumentException("the plan does not fit the spec", nameof(plan));
        var result = new Dictionary<string, Dictionary<int, GroupPlan?>>(StringComparer.Ordinal);
        foreach (var layer in network.MergeLayers)
        {
            var output = layer.OutputGroup == MergeLayer.Head ? plan.Head : plan.Groups[layer.OutputGroup];
            GroupPlan? input = layer.InputGroup == MergeLayer.Data ? null : plan.Groups[layer.InputGroup];
            result[layer.Weight] = new() { [0] = output, [1] = input };
            if (layer.Bias is { } bias) result[bias] = new() { [0] = output };
            foreach (var v in layer.BatchNormVectors) result[v] = new() { [0] = output };
        }
        return result;
    }

    static Tensor Combine(Tensor a, Tensor b, GroupPlan? output, GroupPlan? input)
    {
        using var scope = NewDisposeScope();
        if (output is null) throw new InvalidOperationException("every owned tensor has an output plan");
        var (outA, outB, outClass) = output.Layout();
        var ea = a.index_select(0, tensor(outA));
        var eb = b.index_select(0, tensor(outB));
        Tensor ca, cb;
        if (a.dim() == 1)
        {
            ca = tensor(outClass.Select(c => VectorA[c]).ToArray());
            cb = tensor(outClass.Select(c => VectorB[c]).ToArray());
        }
        else
        {
            int[] inClass;
            if (input is not null)
            {
                var (inA, inB, cls) = input.Layout();
                ea = ea.index_select(1, tensor(inA));
                eb = eb.index_select(1, tensor(inB));
                inClass = cls;
            }
            else inClass = new int[a.shape[1]];  // the data: read by A and B alike
            ca = Coefficients(MatrixA, outClass, inClass);
            cb = Coefficients(MatrixB, outClass, inClass);
            var shape = new long[a.dim()];
            Array.Fill(shape, 1L);
            shape[0] = outClass.Length; shape[1] = inClass.Length;
            ca = ca.reshape(shape); cb = cb.reshape(shape);
        }
        var merged = Plus(ea.to_type(ScalarType.Float64) * ca, eb.to_type(ScalarType.Float64) * cb);
        return merged.to_type(a.dtype).MoveToOuterDisposeScope();
    }

    static Tensor Coefficients(double[,] table, int[] outClass, int[] inClass)
    {
        var values = new double[outClass.Length * inClass.Length];
        for (int o = 0; o < outClass.Length; o++)
            for (int i = 0; i < inClass.Length; i++) values[o * inClass.Length + i] = table[outClass[o], inClass[i]];
        return tensor(values).reshape(outClass.Length, inClass.Length);
    }
}
