using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Alignment;

/// <summary>Small models with every tensor random (BatchNorm statistics and affine included), and permuted copies.</summary>
static class AlignmentFixtures
{
    public static readonly ModelSpec MlpSpec = new() { Architecture = ModelSpec.MlpName, Classes = 4, ImageSize = 8, Channels = 1, Hidden = [12, 10] };
    public static readonly ModelSpec CnnSpec = new() { Architecture = ModelSpec.Cnn, Classes = 4, ImageSize = 8, Channels = 1, Width = 6 };

    public static ModelSpec Spec(string architecture) => architecture == ModelSpec.MlpName ? MlpSpec : CnnSpec;

    /// <summary>A module of <paramref name="spec"/> with seeded random weights and random BatchNorm statistics.</summary>
    public static nn.Module<Tensor, Tensor> Model(ModelSpec spec, long seed)
    {
        manual_seed(seed);
        var module = spec.Create();
        using var _ = no_grad();
        foreach (var (name, t) in module.state_dict())
        {
            if (name.EndsWith(".running_var", StringComparison.Ordinal)) t.copy_(rand(t.shape) + 0.5);
            else if (name.EndsWith(".running_mean", StringComparison.Ordinal) || name.EndsWith("bn1.weight", StringComparison.Ordinal) ||
                     name.EndsWith("bn2.weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal))
                t.copy_(randn(t.shape) * 0.5 + (name.Contains(".weight") ? 1 : 0));
        }
        module.eval();
        return module;
    }

    /// <summary>A random permutation of every group, seeded.</summary>
    public static int[][] RandomPermutation(PermutationSpec spec, int seed)
    {
        var random = new Random(seed);
        return spec.Groups.Select(g => Enumerable.Range(0, g.Size).OrderBy(_ => random.Next()).ToArray()).ToArray();
    }

    public static Tensor Inputs(long seed, int n = 32)
    {
        manual_seed(seed);
        return randn([n, 1, 8, 8]);
    }

    public static void AssertBitEqual(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, t) in expected)
            {
            Assert.Equal(t.shape, actual[name].shape);
            Assert.True(t.bytes.SequenceEqual(actual[name].contiguous().bytes), $"tensor {name} differs");
        }
    }

    public static double MaxAbsDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
