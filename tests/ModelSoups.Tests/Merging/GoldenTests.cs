using ModelSoups.Merging;
using static ModelSoups.Tests.Merging.MergeRunner;

namespace ModelSoups.Tests.Merging;

/// <summary>Hand-computed expected outputs for every method (derivations in the comments).</summary>
public class GoldenTests
{
    [Fact]
    public void Linear_weighted_average()
    {
        float[][] m = [[1, 2, 3, 4], [3, 6, 9, 0]];
        // (1·1 + 3·3)/4 = 2.5, (2 + 18)/4 = 5, (3 + 27)/4 = 7.5, (4 + 0)/4 = 1
        Close([2.5, 5, 7.5, 1], Run("linear", m, set: p => p.Set("weight", 1, 3.0)));
        Close([10, 20, 30, 4], Run("linear", m, set: p => p.Set("weight", 1, 3.0).Set("normalize", false)));
        // The same in f64.
        Close([2.5, 5, 7.5, 1], Run("linear", [[1.0, 2, 3, 4], [3.0, 6, 9, 0]], set: p => p.Set("weight", 1, 3.0)));
    }

    static readonly float[] Ones = [1, 1, 1, 1];
    // τ1 = [1, −1, 0, 3], τ2 = [0, 2, −1, 0]
    static readonly float[][] TaTwo = [[2, 0, 1, 4], [1, 3, 0, 1]];

    [Fact]
    public void Task_arithmetic_dense()
    {
        // Σ w τ with w = [1, 0.5]: [1, 0, −0.5, 3]; λ = 0.5 → [0.5, 0, −0.25, 1.5]; + base 1
        Close([1.5, 1, 0.75, 2.5], Run("task_arithmetic", TaTwo, Ones, p => p.Set("weight", 1, 0.5).Set("lambda", 0.5)));
    }

    [Fact]
    public void Task_arithmetic_trimmed_keeps_exactly_k_with_ties_to_lower_index()
    {
        // density 0.5 → k = 2 of 4. τ1 magnitudes [1, 1, 0, 3]: keep 3 (idx 3) and the tie at idx 0 (not idx 1) → [1, 0, 0, 3].
        // τ2 magnitudes [0, 2, 1, 0]: keep idx 1, 2 → [0, 2, −1, 0]. Σ w τ̂ = [1, 1, −0.5, 3] (w2 = 0.5); + 1.
        Close([2, 2, 0.5, 4], Run("task_arithmetic", TaTwo, Ones, p => p.Set("weight", 1, 0.5).SetAll("density", 0.5).Set("trim", true)));
    }

    // τ1 = [1, −2, 3, 0], τ2 = [−3, 1, 1, 0], τ3 = [1, −1, −5, 2] on a zero base.
    static readonly float[][] Three = [[1, -2, 3, 0], [-3, 1, 1, 0], [1, -1, -5, 2]];
    static readonly float[] Zeros = [0, 0, 0, 0];

    [Fact]
    public void Ties_peft_total()
    {
        // w = [1, 1, 2]. Election on unweighted sums [−1, −2, −1, 2] → signs [−, −, −, +].
        // col0: only τ2 agrees → 1·(−3)/1 = −3. col1: τ1, τ3 → (−2 + 2·(−1))/2 = −2.
        // col2: τ3 → 2·(−5)/1 = −10. col3: τ3 → 2·2/1 = 4 (zeros never agree).
        Close([-3, -2, -10, 4], Run("ties", Three, Zeros, p => p.Set("weight", 2, 2.0).Set("ties_variant", "peft")));
    }

    [Fact]
    public void Ties_peft_frequency()
    {
        // Sign counts: col0 +1−1+1 = 1 → +; col1 −1+1−1 → −; col2 +1+1−1 → +; col3 0+0+1 → +.
        // col0: τ1 (1), τ3 (2·1) → 3/2 = 1.5. col1: τ1 (−2), τ3 (2·−1) → −4/2 = −2.
        // col2: τ1 (3), τ2 (1) → 4/2 = 2. col3: τ3 (4) → 4.
        Close([1.5, -2, 2, 4], Run("ties", Three, Zeros, p => p.Set("weight", 2, 2.0).Set("majority_sign_method", "frequency").Set("ties_variant", "peft")));
    }

    [Fact]
    public void Ties_mergekit_variant_elects_from_weighted_and_divides_by_agreeing_weights()
    {
        // Weighted: wτ1 = [1, −2, 3, 0], wτ2 = [−3, 1, 1, 0], wτ3 = [2, −2, −10, 4].
        // Sums [0, −3, −6, 4] → signs [+ (zero elects +), −, −, +].
        // col0: 1 + 2 = 3 over weights 1 + 2 → 1. col1: −2 − 2 = −4 over 1 + 2 → −4/3.
        // col2: −10 over 2 → −5. col3: 4 over 2 → 2.
        Close([1, -4.0 / 3, -5, 2], Run("ties", Three, Zeros, p => p.Set("weight", 2, 2.0).Set("ties_variant", "mergekit")));
        Close([3, -4, -10, 4], Run("ties", Three, Zeros, p => p.Set("weight", 2, 2.0).Set("ties_variant", "mergekit").Set("normalize", false)));
    }

    [Fact]
    public void Ties_trimmed_with_lambda_and_base()
    {
        // density 0.5 → keep 2 of 4 per model:
        // τ1 [1, −2, 3, 0] → [0, −2, 3, 0]; τ2 [−3, 1, 1, 0] → [−3, 1, 0, 0] (tie 1/1 → idx 1); τ3 [1, −1, −5, 2] → [0, 0, −5, 2].
        // Sums [−3, −1, −2, 2] → [−, −, −, +]; disjoint mean (w = 1): [−3, −2, −5, 2]; λ = 0.5 → [−1.5, −1, −2.5, 1]; + 10.
        float[] b = [10, 10, 10, 10];
        var models = Three.Select(t => t.Select(x => x + 10).ToArray()).ToArray();
        Close([8.5, 9, 7.5, 11], Run("ties", models, b, p => p.SetAll("density", 0.5).Set("lambda", 0.5)));
    }

    [Fact]
    public void Dare_drops_by_the_counter_based_generator_and_rescales()
    {
        var seed = MergeSeed.ForTensor(7, "model.layers.0.mlp.weight");
        float[] b = Enumerable.Range(0, 64).Select(i => (float)i).ToArray();
        float[][] m = [b.Select(x => x + 2).ToArray(), b.Select(x => x - 1).ToArray()];
        var got = Run("dare_linear", m, b, p => p.SetAll("density", 0.25).Set("weight", 1, 3.0).Set("rescale_by", "keep_probability"), seed: seed);
        for (int j = 0; j < 64; j++)
        {
            // Survivors are τ/0.25: model 0 contributes 2·4 = 8, model 1 contributes 3·(−1)·4 = −12.
            double expected = b[j]
                + (MergeSeed.UniformAt(MergeSeed.ForModel(seed, 0), j) < 0.25 ? 8 : 0)
                + (MergeSeed.UniformAt(MergeSeed.ForModel(seed, 1), j) < 0.25 ? -12 : 0);
            Assert.Equal(expected, got[j]);
        }
        Assert.Contains(got.Select((x, j) => x - b[j]), d => d == 0);
        Assert.Contains(got.Select((x, j) => x - b[j]), d => d != 0);
    }

    [Fact]
    public void Breadcrumbs_per_tensor_drops_outliers_keeps_next()
    {
        float[] tau = [5, -4, 3, -2, 1, 0.5f, -0.25f, 0.1f, 0, 10];
        var z = new float[10];
        // gamma 0.1 → drop 1 (10); density 0.3 → keep next 3 (5, −4, 3).
        Close([5, -4, 3, 0, 0, 0, 0, 0, 0, 0], Run("breadcrumbs", [tau], z, p => p.SetAll("gamma", 0.1).SetAll("density", 0.3).Set("granularity", "tensor")));
        // gamma 0.01 → floor(0.1) = 0 drops nothing (not everything): keep top 3 = 10, 5, −4.
        Close([5, -4, 0, 0, 0, 0, 0, 0, 0, 10], Run("breadcrumbs", [tau], z, p => p.SetAll("gamma", 0.01).SetAll("density", 0.3).Set("granularity", "tensor")));
        // gamma 0.3 + density 0.8 > 1: keep 8, so only 2 outliers (10, 5) are dropped: the next 8 survive.
        Close([0, -4, 3, -2, 1, 0.5, -0.25, 0.1, 0, 0], Run("breadcrumbs", [tau], z, p => p.SetAll("gamma", 0.3).SetAll("density", 0.8).Set("granularity", "tensor")));
    }

    [Fact]
    public void Breadcrumbs_per_row_counts_along_the_last_dimension()
    {
        float[] tau = [5, -4, 3, -2, 1, 0.5f, -0.25f, 0.1f, 0, 10];
        // Shape [2, 5]; gamma 0.2 → drop 1 per row, density 0.4 → keep 2 per row.
        // Row 0 [5, −4, 3, −2, 1]: drop 5, keep −4, 3. Row 1 [0.5, −0.25, 0.1, 0, 10]: drop 10, keep 0.5, −0.25.
        Close([0, -4, 3, 0, 0, 0.5, -0.25, 0, 0, 0],
            Run("breadcrumbs", [tau], new float[10], p => p.SetAll("gamma", 0.2).SetAll("density", 0.4).Set("granularity", "row"), shape: [2, 5]));
    }

    [Fact]
    public void Breadcrumbs_ties_combines_masks_with_election()
    {
        // Two models on a zero base, per tensor, gamma 0.25 (drop 1 of 4), density 0.5 (keep 2).
        // τ1 [4, −3, 2, 1] → drop 4, keep −3, 2 → [0, −3, 2, 0]. τ2 [−1, 8, −2, 3] → drop 8, keep 3, −2 → [0, 0, −2, 3].
        // Sums [0, −3, 0, 3] → [+, −, +, +]. col0: none agree → 0. col1: −3. col2: 2 (−2 disagrees). col3: 3.
        Close([0, -3, 2, 3], Run("breadcrumbs_ties", [[4, -3, 2, 1], [-1, 8, -2, 3]], Zeros,
            p => p.SetAll("gamma", 0.25).SetAll("density", 0.5).Set("granularity", "tensor")));
    }

    [Fact]
    public void Slerp_orthogonal_and_colinear()
    {
        double h = Math.Sqrt(0.5); // sin(π/4)/sin(π/2)
        Close([h, h], Run("slerp", [[1f, 0], [0f, 1]], set: p => p.Set("t", 0.5)));
        // Unnormalised tensors are interpolated: coefficients from the unit vectors.
        Close([2 * h, 3 * h], Run("slerp", [[2f, 0], [0f, 3]], set: p => p.Set("t", 0.5)));
        // Colinear (dot = 1 > 0.9995) → lerp: 0.75·[1, 2] + 0.25·[2, 4] = [1.25, 2.5].
        Close([1.25, 2.5], Run("slerp", [[1f, 2], [2f, 4]], set: p => p.Set("t", 0.25)));
        // With a base the task vectors [1, 0] and [0, 1] are interpolated and added back.
        Close([1 + h, 1 + h], Run("slerp", [[2f, 1], [1f, 2]], [1f, 1], p => p.Set("t", 0.5)));
    }

    [Fact]
    public void Model_stock_two_models()
    {
        // τ1 = [1, 0], τ2 = [1, 1]: cos = 1/√2; t = 2c/(1 + c) = 2(√2 − 1) ≈ 0.8284271.
        // mean = [2, 1.5]; result t·mean + (1 − t)·base(1, 1).
        double t = 2 * (Math.Sqrt(2) - 1);
        Close([t * 2 + (1 - t), t * 1.5 + (1 - t)], Run("model_stock", [[2f, 1], [2f, 2]], [1f, 1]), 1e-6);
        Assert.Equal(t, ModelStock.Factor(2, Math.Sqrt(0.5)), 12);
        // Orthogonal task vectors: cos = 0 → t = 0 → the base.
        Close([1, 1], Run("model_stock", [[2f, 1], [1f, 2]], [1f, 1]));
    }

    [Fact]
    public void Layer_swap_shares_and_blends()
    {
        // 10 layers, bottom 2, top 2, transition 2: α = 1,1, 2/3,1/3, 0,0, 1/3,2/3, 1,1.
        double[] expected = [1, 1, 2.0 / 3, 1.0 / 3, 0, 0, 1.0 / 3, 2.0 / 3, 1, 1];
        for (int l = 0; l < 10; l++) Assert.Equal(expected[l], LayerSwap.LanguageShare(l, 10, 2, 2, 2), 12);
        // Task expert is model 0, language expert model 1 (default). Layer 2: (2/3)·[3, 6] = [2, 4].
        Action<MergeParameters> set = p => p.Set("bottom", 2).Set("top", 2).Set("transition", 2);
        Close([2, 4], Run("layer_swap", [[0f, 0], [3f, 6]], set: set, layer: 2, layerCount: 10));
        Close([0, 0], Run("layer_swap", [[0f, 0], [3f, 6]], set: set, layer: 5, layerCount: 10));
        Close([3, 6], Run("layer_swap", [[0f, 0], [3f, 6]], set: set, layer: 9, layerCount: 10));
        // Non-layer tensors follow non_layer_source.
        Close([0, 0], Run("layer_swap", [[0f, 0], [3f, 6]], set: set, layerCount: 10));
        Close([1.5, 3], Run("layer_swap", [[0f, 0], [3f, 6]], set: p => { set(p); p.Set("non_layer_source", "average"); }, layerCount: 10));
    }

    [Fact]
    public void Passthrough_copies_the_source()
    {
        Close([3, 4], Run("passthrough", [[1f, 2], [3f, 4]], set: p => p.Set("source", 1)));
    }
}
