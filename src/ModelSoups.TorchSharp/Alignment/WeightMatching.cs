using ModelSoups.Assignment;
using TorchSharp;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Alignment.ScalarSafeMath;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// Data-free alignment by weight matching (Ainsworth et al. 2023, "Git Re-Basin", Algorithm 1): coordinate descent
/// over permutation groups, each step the linear assignment maximising Σ over the group's axes of
/// ⟨W_A, W_B permuted⟩ with every other group's current permutation held fixed, in a seeded random order,
/// until a full sweep changes no permutation (or a maximum number of sweeps). BatchNorm running statistics are permuted
/// with their group but not matched on, as in the reference code (PLeaS-Merging's <c>weight_matching</c> skips
/// <c>running_mean</c>/<c>running_var</c>): they describe the data a model last saw, not what it learned — a fine-tune at
/// another resolution rewrites them wholesale — and their scale would swamp the weights' inner products.
/// </summary>
public static class WeightMatching
{
    /// <summary>
    /// The permutation of each group of <paramref name="spec"/> that puts <paramref name="model"/>'s units onto
    /// <paramref name="reference"/>'s: <c>spec.Apply(model, result)</c> is the aligned model.
    /// </summary>
    public static int[][] Match(PermutationSpec spec, IReadOnlyDictionary<string, Tensor> reference, IReadOnlyDictionary<string, Tensor> model,
        ulong seed = 0, int maxSweeps = 100)
    {
        var perm = spec.Identity();
        // Which (group, axis) pairs touch each tensor, so "the others' permutations" can be applied per tensor.
        var byTensor = new Dictionary<string, List<(int Group, int Axis)>>(StringComparer.Ordinal);
        for (int g = 0; g < spec.Groups.Count; g++)
            foreach (var a in spec.Groups[g].Axes)
                (byTensor.TryGetValue(a.Tensor, out var list) ? list : byTensor[a.Tensor] = []).Add((g, a.Axis));
        var random = new Random(unchecked((int)seed));
        for (int sweep = 0; sweep < maxSweeps; sweep++)
        {
            bool changed = false;
            foreach (int g in Enumerable.Range(0, spec.Groups.Count).OrderBy(_ => random.Next()).ToList())
            {
                var group = spec.Groups[g];
                double[,] similarity;
                using (var scope = NewDisposeScope())
                {
                    var total = zeros([group.Size, group.Size], ScalarType.Float64);
                    foreach (var a in group.Axes.Where(a => !StateTensors.IsStatistic(a.Tensor)))
                    {
                        var b = model[a.Tensor].to_type(ScalarType.Float64);
                        foreach (var (other, axis) in byTensor[a.Tensor])
                            if (other != g) b = b.index_select(axis, tensor(perm[other].Select(i => (long)i).ToArray()));
                        var wa = reference[a.Tensor].to_type(ScalarType.Float64).movedim([a.Axis], [0]).reshape(group.Size, -1L);
                        var wb = b.movedim([a.Axis], [0]).reshape(group.Size, -1L);
                        total = Plus(total, wa.matmul(wb.t()));
                    }
                    similarity = ToArray(total);
                }
                var next = LinearAssignment.Maximize(similarity);
                // Accept only a strict improvement, so ties cannot make the descent cycle.
                if (!next.SequenceEqual(perm[g]) &&
                    LinearAssignment.Total(similarity, next) > LinearAssignment.Total(similarity, perm[g]) + 1e-12 * Math.Abs(LinearAssignment.Total(similarity, perm[g])))
                {
                    perm[g] = next;
                    changed = true;
                }
            }
            if (!changed) break;
        }
        return perm;
    }

    /// <summary>A 2-D float64 tensor as a managed array.</summary>
    internal static double[,] ToArray(Tensor matrix)
    {
        int rows = checked((int)matrix.shape[0]), cols = checked((int)matrix.shape[1]);
        var flat = matrix.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var result = new double[rows, cols];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }
}
