using ModelSoups.Merging;
using static ModelSoups.Tests.Merging.MergeRunner;

namespace ModelSoups.Tests.Merging;

/// <summary>The sparsification units and the new methods' invariants, on their own.</summary>
public sealed class SparsificationUnitTests
{
    [Fact]
    public void Della_probabilities_rise_linearly_with_magnitude_rank()
    {
        // Magnitudes [0.3, 0.1, 0.5, 0.2, 0.4] rank r = [3, 1, 5, 2, 4] (1 = smallest); density 0.5,
        // ε 0.2: p = 0.3 + 0.4·(r − 1)/4 → [0.5, 0.3, 0.7, 0.4, 0.6].
        var p = new float[5];
        DellaProbabilities.Compute<float>([0.3f, 0.1f, 0.5f, 0.2f, 0.4f], 0.5, 0.2, p);
        Close([0.5, 0.3, 0.7, 0.4, 0.6], p);
        // Equal magnitudes rank by index: [1, 1, 1] → r = [1, 2, 3] → [0.3, 0.5, 0.7].
        var ties = new double[3];
        DellaProbabilities.Compute<double>([1.0, 1.0, 1.0], 0.5, 0.2, ties);
        Close([0.3, 0.5, 0.7], ties);
        // One element: the centre, density.
        var one = new float[1];
        DellaProbabilities.Compute<float>([7f], 0.4, 0.1, one);
        Assert.Equal(0.4f, one[0]);
    }

    [Fact]
    public void L1_rescale_factor_and_its_small_norm_guard()
    {
        Assert.Equal(2.5f, L1Rescale.Factor<float>(5, 2));
        Assert.Equal(1f, L1Rescale.Factor<float>(5, 5e-8)); // mergekit: a norm below 1e-7 leaves the mask unscaled
        Assert.Equal(1f, L1Rescale.Factor<float>(0, 0));
    }

    [Fact]
    public void Dare_l1_rescale_restores_the_task_vector_norm()
    {
        var rng = new Random(3);
        var b = new float[1000];
        float[] m = [.. Enumerable.Range(0, 1000).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        var got = Run("dare_linear", [m], b, p => p.SetAll("density", 0.2), seed: 9);
        double before = m.Sum(x => Math.Abs((double)x)), after = got.Sum(x => Math.Abs((double)x));
        Assert.Equal(before, after, before * 1e-5);
        Assert.InRange(got.Count(x => x != 0), 150, 250); // about density of the entries survive
    }

    [Fact]
    public void Della_keeps_about_density_and_favours_large_entries()
    {
        int rows = 200, cols = 100;
        var b = new float[rows * cols];
        float[] m = [.. Enumerable.Range(0, rows * cols).Select(j => (float)((j % cols) + 1))]; // each row 1 … 100
        var got = Run("della_linear", [m], b, p => p.SetAll("density", 0.4).SetAll("epsilon", 0.3).Set("rescale", false), shape: [rows, cols], seed: 5);
        double kept = got.Count(x => x != 0) / (double)got.Length;
        Assert.InRange(kept, 0.38, 0.42); // p averages 0.4; 20,000 draws
        // Column 0 (smallest, p = 0.1) versus column 99 (largest, p = 0.7), over 200 rows.
        int small = Enumerable.Range(0, rows).Count(r => got[r * cols] != 0), large = Enumerable.Range(0, rows).Count(r => got[r * cols + 99] != 0);
        Assert.InRange(small, 5, 40);
        Assert.InRange(large, 115, 165);
    }

    [Fact]
    public void Della_keep_probability_rescale_divides_survivors_by_their_probability()
    {
        // One row [1, 2, 3, 4, 5] (ranks 1 … 5), density 0.5, ε 0.4: p = 0.1, 0.3, 0.5, 0.7, 0.9.
        float[] m = [1, 2, 3, 4, 5];
        var got = Run("della_linear", [m], new float[5], p => p.SetAll("density", 0.5).SetAll("epsilon", 0.4).Set("rescale_by", "keep_probability"), seed: 1);
        double[] prob = [0.1, 0.3, 0.5, 0.7, 0.9];
        for (int j = 0; j < 5; j++)
        {
            bool kept = MergeSeed.UniformAt(MergeSeed.ForModel(1, 0), j) < (float)prob[j];
            Assert.Equal(kept ? m[j] / (float)prob[j] : 0f, got[j]);
        }
    }

    [Fact]
    public void Nearswap_limits()
    {
        float[] a = [0, 1, 2], b = [0.05f, 3, 2.5f];
        // t = 0: the base. t = 10 ≥ every |a − b|: the model.
        Assert.Equal(a, Run("nearswap", [b], a, p => p.Set("t", 0.0)));
        Assert.Equal(b, Run("nearswap", [b], a, p => p.Set("t", 10.0)));
        // t = 0.5: element 1 (|Δ| = 2) moves by w = 0.25 → 1 + 0.25·2 = 1.5; element 2 (|Δ| = 0.5) takes b.
        Close([0.05, 1.5, 2.5], Run("nearswap", [b], a, p => p.Set("t", 0.5)));
    }

    [Fact]
    public void Karcher_and_multislerp_of_identical_models_are_the_model()
    {
        float[] x = [0.3f, -1.2f, 2.5f, 0.7f];
        Close(x.Select(v => (double)v).ToArray(), Run("karcher", [x, x, x]), 1e-6);
        Close(x.Select(v => (double)v).ToArray(), Run("multislerp", [x, x]), 1e-6);
    }

    [Fact]
    public void Sce_of_one_model_is_that_model()
    {
        // One task vector: its weight is 1, every nonzero entry agrees with itself.
        float[] b = [1, 1, 1, 1], m = [2, 0.5f, 1, -3];
        Close([2, 0.5, 1, -3], Run("sce", [m], b));
    }

    [Fact]
    public void Passthrough_scale_multiplies_and_one_copies_bits()
    {
        float[] x = [1.5f, -2f, float.Epsilon];
        Assert.Equal(x, Run("passthrough", [x]));
        Close([3, -4, 0], Run("passthrough", [x], set: p => p.Set("scale", 0, 2.0)));
    }

    [Fact]
    public void Multislerp_of_unchanged_models_is_the_base()
    {
        // Three task vectors of zero: mergekit raises ("weighted sum ... is zero"); we return the base.
        float[] b = [0.5f, -1, 2];
        Assert.Equal(b, Run("multislerp", [b, b, b], b));
        // Antipodal task vectors that cancel are still refused, naming the tensor.
        var e = Assert.Throws<ModelSoupsException>(() => Run("multislerp", [[1.5f, -1, 2], [-0.5f, -1, 2], [0.5f, -1, 2]], b, name: "model.layers.0.w"));
        Assert.Contains("model.layers.0.w", e.Message);
    }
}
