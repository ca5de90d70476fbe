using ModelSoups.Assignment;
using TorchSharp;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Alignment.ScalarSafeMath;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// Alignment by activation matching, as PLeaS uses (Nasery et al. 2025, §3.1; Ainsworth et al. 2023, §3.1): run both
/// models on the same inputs, take each group's pre-activations (the layer output after BatchNorm, before ReLU;
/// convolution channels pooled over positions as extra samples), correlate every unit of the reference with every
/// unit of the model, and solve one linear assignment per group maximising total correlation. Activations of a
/// group do not depend on other groups' permutations, so no iteration is needed.
/// Pre-activations rather than post-ReLU values: a unit that is dead on the data has zero variance after ReLU,
/// its correlations are undefined, and ties among dead units would make the matching arbitrary.
/// </summary>
public static class ActivationMatching
{
    /// <summary>Per group, the reference × model correlation matrix of pre-activations over <paramref name="inputs"/>.</summary>
    public static double[][,] Correlations(LayerChain chain, IReadOnlyDictionary<string, Tensor> reference, IReadOnlyDictionary<string, Tensor> model,
        IEnumerable<Tensor> inputs) =>
        Correlations(PermutableNetwork.FromChain(chain, StateTensors.Shapes(model)), reference, model, inputs);

    /// <summary>
    /// Per group of <paramref name="network"/>, the reference × model correlation matrix of the group's activations over
    /// <paramref name="inputs"/>; a group observed at several places (a residual stream) pools them all as samples.
    /// </summary>
    public static double[][,] Correlations(PermutableNetwork network, IReadOnlyDictionary<string, Tensor> reference, IReadOnlyDictionary<string, Tensor> model,
        IEnumerable<Tensor> inputs)
    {
        int groups = network.Spec.Groups.Count;
        var moments = new CrossMoments[groups];
        using var _ = no_grad();
        foreach (var x in inputs)
        {
            using var scope = NewDisposeScope();
            var fromReference = network.PreActivations(reference, x);
            var fromModel = network.PreActivations(model, x);
            for (int i = 0; i < fromReference.Count; i++)
            {
                var (g, ra) = fromReference[i];
                var mb = fromModel[i].Samples;
                (moments[g] ??= new CrossMoments(ra.shape[1], mb.shape[1])).Add(ra, mb);
            }
        }
        if (moments.Any(m => m is null)) throw new ModelSoupsException("activation matching needs at least one batch of data");
        return moments.Select(m => m.Correlation()).ToArray();
    }

    /// <summary>The permutation of each group putting <paramref name="model"/>'s units onto <paramref name="reference"/>'s.</summary>
    public static int[][] Match(LayerChain chain, IReadOnlyDictionary<string, Tensor> reference, IReadOnlyDictionary<string, Tensor> model, IEnumerable<Tensor> inputs) =>
        Correlations(chain, reference, model, inputs).Select(LinearAssignment.Maximize).ToArray();

    /// <summary>The permutation of each group of <paramref name="network"/> putting <paramref name="model"/>'s units onto <paramref name="reference"/>'s.</summary>
    public static int[][] Match(PermutableNetwork network, IReadOnlyDictionary<string, Tensor> reference, IReadOnlyDictionary<string, Tensor> model, IEnumerable<Tensor> inputs) =>
        Correlations(network, reference, model, inputs).Select(LinearAssignment.Maximize).ToArray();

    /// <summary>[N, C] stays; [N, C, H, W] becomes [N·H·W, C].</summary>
    public static Tensor AsSamples(Tensor activation) =>
        activation.dim() == 2 ? activation.to_type(ScalarType.Float64) : activation.movedim([1], [-1]).reshape(-1L, activation.shape[1]).to_type(ScalarType.Float64);

    /// <summary>Running sums for a correlation matrix between two sets of units.</summary>
    sealed class CrossMoments(long a, long b)
    {
        // Detached: the first Add runs inside a caller's dispose scope, which must not free the running sums.
        readonly Tensor _sumA = zeros(a, ScalarType.Float64).DetachFromDisposeScope(), _sumB = zeros(b, ScalarType.Float64).DetachFromDisposeScope();
        readonly Tensor _sqA = zeros(a, ScalarType.Float64).DetachFromDisposeScope(), _sqB = zeros(b, ScalarType.Float64).DetachFromDisposeScope();
        readonly Tensor _cross = zeros([a, b], ScalarType.Float64).DetachFromDisposeScope();
        long _n;

        public void Add(Tensor x, Tensor y)
        {
            AddInPlace(_sumA, x.sum(0L)); AddInPlace(_sumB, y.sum(0L));
            AddInPlace(_sqA, (x * x).sum(0L)); AddInPlace(_sqB, (y * y).sum(0L));
            AddInPlace(_cross, x.t().matmul(y));
            _n += x.shape[0];
        }

        public double[,] Correlation()
        {
            using var scope = NewDisposeScope();
            var meanA = Over(_sumA, _n); var meanB = Over(_sumB, _n);
            var cov = Minus(Over(_cross, _n), meanA.unsqueeze(1) * meanB.unsqueeze(0));
            var sdA = ClampMin(Minus(Over(_sqA, _n), meanA * meanA), 0).sqrt();
            var sdB = ClampMin(Minus(Over(_sqB, _n), meanB * meanB), 0).sqrt();
            // A constant unit correlates with nothing: 0 instead of 0/0.
            var denominator = sdA.unsqueeze(1) * sdB.unsqueeze(0);
            var corr = where(Greater(denominator, 1e-12), cov / ClampMin(denominator, 1e-12), zeros_like(cov));
            return WeightMatching.ToArray(corr);
        }
    }
}
