using ModelSoups.TorchSharp.Sparse;

namespace ModelSoups.TorchSharp.Tests.Sparse;

public class MagnitudePruningTests
{
    [Fact]
    public void Global_golden_prunes_the_smallest_magnitudes_over_all_tensors()
    {
        float[] a = [0.5f, -0.1f, 0.3f], b = [0.2f, -0.05f, 0.4f, 0.15f];
        // 7 weights at 0.5 → round(3.5) = 4 pruned: |−0.05|, |−0.1|, 0.15, 0.2.
        var m = MagnitudePruning.Masks([a, b], 0.5, PruningScope.Global);
        Assert.Equal([true, false, true], m[0]);
        Assert.Equal([false, false, true, false], m[1]);
    }

    [Fact]
    public void Ties_go_in_position_order()
    {
        Assert.Equal([false, false, true, true], MagnitudePruning.Masks([[1f, -1f, 1f, 1f]], 0.5, PruningScope.Global)[0]);
        // One of two equal magnitudes in different tensors: the earlier tensor's.
        var m = MagnitudePruning.Masks([[2f, 1f], [-1f, 3f]], 0.25, PruningScope.Global);
        Assert.Equal([true, false], m[0]);
        Assert.Equal([true, true], m[1]);
    }

    [Fact]
    public void Per_layer_prunes_each_tensor_to_the_sparsity()
    {
        var m = MagnitudePruning.Masks([[0.5f, -0.1f, 0.3f, 0.2f], [1f, 2f]], 0.5, PruningScope.PerLayer);
        Assert.Equal([true, false, true, false], m[0]);
        Assert.Equal([false, true], m[1]);
    }

    [Fact]
    public void Earlier_pruned_weights_stay_pruned_and_the_sparsity_cannot_fall()
    {
        // Weight 0 is large but was pruned before: it goes first, then the smallest of the rest.
        var m = MagnitudePruning.Masks([[9f, 1f, 2f, 3f]], 0.5, PruningScope.Global, [[false, true, true, true]]);
        Assert.Equal([false, false, true, true], m[0]);
        var e = Assert.Throws<ModelSoupsException>(() =>
            MagnitudePruning.Masks([[9f, 1f, 2f, 3f]], 0.25, PruningScope.Global, [[false, false, true, true]]));
        Assert.Contains("cannot go down", e.Message);
    }

    [Fact]
    public void Non_finite_weights_are_refused()
    {
        Assert.Throws<ModelSoupsException>(() => MagnitudePruning.Masks([[1f, float.NaN]], 0.5, PruningScope.Global));
    }

    [Fact]
    public void Zero_sparsity_keeps_everything()
    {
        Assert.All(MagnitudePruning.Masks([[0f, 1f], [2f]], 0, PruningScope.Global), t => Assert.All(t, Assert.True));
    }
}
