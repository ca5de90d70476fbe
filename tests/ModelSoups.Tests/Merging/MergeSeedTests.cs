using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

public class MergeSeedTests
{
    [Fact]
    public void SplitMix64_and_Fnv1a_match_published_values()
    {
        // SplitMix64 from state 0: first output 0xE220A8397B1DCDAF (Vigna's reference splitmix64.c).
        Assert.Equal(0xE220A8397B1DCDAFUL, MergeSeed.At(0, 0));
        // FNV-1a 64 test vectors: "" and "a".
        Assert.Equal(0xCBF29CE484222325UL, MergeSeed.Fnv1a64(""));
        Assert.Equal(0xAF63DC4C8601EC8CUL, MergeSeed.Fnv1a64("a"));
    }

    [Fact]
    public void Tensor_seeds_are_stable_and_distinct()
    {
        ulong a = MergeSeed.ForTensor(42, "model.layers.0.mlp.up_proj.weight");
        Assert.Equal(a, MergeSeed.ForTensor(42, "model.layers.0.mlp.up_proj.weight"));
        Assert.NotEqual(a, MergeSeed.ForTensor(43, "model.layers.0.mlp.up_proj.weight"));
        Assert.NotEqual(a, MergeSeed.ForTensor(42, "model.layers.1.mlp.up_proj.weight"));
        Assert.NotEqual(MergeSeed.ForModel(a, 0), MergeSeed.ForModel(a, 1));
    }

    [Fact]
    public void Uniform_values_lie_in_unit_interval()
    {
        for (long j = 0; j < 10_000; j++)
        {
            double u = MergeSeed.UniformAt(123, j);
            Assert.InRange(u, 0.0, 1.0 - 1e-17);
        }
    }
}
