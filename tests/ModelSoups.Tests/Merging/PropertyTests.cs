using CsCheck;
using ModelSoups.Merging;
using static ModelSoups.Tests.Merging.MergeRunner;

namespace ModelSoups.Tests.Merging;

/// <summary>Invariants that must hold for any data (CsCheck).</summary>
public class PropertyTests
{
    // k models (+ base) of n floats each.
    static Gen<(float[] Base, float[][] Models)> Data(int minK, int maxK) =>
        from k in Gen.Int[minK, maxK]
        from n in Gen.Int[1, 80]
        from b in Gen.Float[-10f, 10f].Array[n]
        from m in Gen.Float[-10f, 10f].Array[n].Array[k]
        select (b, m);

    [Fact]
    public void Uniform_soup_of_identical_models_is_the_model() =>
        Data(1, 5).Sample(d =>
        {
            var copies = d.Models.Select(_ => d.Base).ToArray();
            Assert.Equal(d.Base, Run("linear", copies));
        }, iter: 100);

    [Fact]
    public void Linear_with_one_weight_one_is_that_model() =>
        Data(2, 5).Sample(d =>
        {
            int pick = d.Models.Length - 1;
            var got = Run("linear", d.Models, set: p => { p.SetAll("weight", 0.0); p.Set("weight", pick, 1.0); });
            Assert.Equal(d.Models[pick], got);
        }, iter: 100);

    [Fact]
    public void Task_arithmetic_lambda_zero_is_the_base() =>
        Data(1, 4).Sample(d => Assert.Equal(d.Base, Run("task_arithmetic", d.Models, d.Base, p => p.Set("lambda", 0.0).SetAll("density", 0.5))), iter: 100);

    [Fact]
    public void Ties_density_one_single_model_is_task_arithmetic() =>
        Data(1, 1).Sample(d =>
        {
            Assert.Equal(
                Run("task_arithmetic", d.Models, d.Base, p => p.Set("lambda", 0.7).SetAll("weight", 0.3)),
                Run("ties", d.Models, d.Base, p => p.Set("lambda", 0.7).SetAll("weight", 0.3).Set("ties_variant", "peft")));
            // mergekit's variant divides by the agreeing weight, so without normalize it is task arithmetic too.
            Assert.Equal(
                Run("task_arithmetic", d.Models, d.Base, p => p.Set("lambda", 0.7).SetAll("weight", 0.3)),
                Run("ties", d.Models, d.Base, p => p.Set("lambda", 0.7).SetAll("weight", 0.3).Set("normalize", false)));
        }, iter: 100);

    [Fact]
    public void Dare_density_one_is_task_arithmetic() =>
        Data(1, 4).Sample(d =>
        {
            var ta = Run("task_arithmetic", d.Models, d.Base, p => p.Set("lambda", 0.5));
            Assert.Equal(ta, Run("dare_linear", d.Models, d.Base, p => p.Set("lambda", 0.5)));
        }, iter: 100);

    [Fact]
    public void Breadcrumbs_gamma_zero_density_one_is_task_arithmetic() =>
        Data(1, 4).Sample(d =>
        {
            var ta = Run("task_arithmetic", d.Models, d.Base, p => p.Set("lambda", 0.5));
            Assert.Equal(ta, Run("breadcrumbs", d.Models, d.Base, p => p.Set("lambda", 0.5).SetAll("gamma", 0.0)));
            Assert.Equal(ta, Run("breadcrumbs", d.Models, d.Base, p => p.Set("lambda", 0.5).SetAll("gamma", 0.0).Set("granularity", "tensor")));
        }, iter: 100);

    [Fact]
    public void Slerp_end_points_are_the_inputs() =>
        Data(2, 2).Sample(d =>
        {
            Assert.Equal(d.Models[0], Run("slerp", d.Models, set: p => p.Set("t", 0.0)));
            Assert.Equal(d.Models[1], Run("slerp", d.Models, set: p => p.Set("t", 1.0)));
        }, iter: 100);

    [Fact]
    public void Trimming_keeps_exactly_k_entries_per_model() =>
        (from n in Gen.Int[1, 200]
         from vals in Gen.Int[-3, 3].Array[n] // few distinct values: many ties
         from density in Gen.Double[0.01, 1.0]
         select (vals, density)).Sample(x =>
        {
            var tau = x.vals.Select(v => (float)v).ToArray();
            var got = Run("task_arithmetic", [tau], new float[tau.Length], p => p.SetAll("density", x.density).Set("trim", true));
            long k = (long)(x.density * tau.Length);
            int nonZeroInput = tau.Count(v => v != 0);
            Assert.Equal(Math.Min(k, nonZeroInput), got.Count(v => v != 0));
            // Every kept magnitude is ≥ every dropped one.
            var kept = got.Where(v => v != 0).Select(Math.Abs).DefaultIfEmpty(float.PositiveInfinity).Min();
            var dropped = tau.Where((v, i) => got[i] == 0).Select(Math.Abs).DefaultIfEmpty(0).Max();
            Assert.True(kept >= dropped);
        }, iter: 200);

    public static TheoryData<string> Elementwise => new() { "linear", "task_arithmetic", "dare_linear", "dare_ties", "layer_swap", "passthrough", "nearswap", "ram" };

    [Theory]
    [MemberData(nameof(Elementwise))]
    public void Block_split_equals_whole_tensor(string name) =>
        (from d in Data(2, 2)
         from block in Gen.Int[1, 20]
         from seed in Gen.ULong
         select (d, block, seed)).Sample(x =>
        {
            var m = MergeMethods.Get(name);
            var models = name == "nearswap" ? x.d.Models[..1] : x.d.Models; // nearswap: the base and one model
            var p = new MergeParameters(m, models.Length);
            if (name == "nearswap") p.Set("t", 0.5);
            if (name.StartsWith("dare")) p.SetAll("density", 0.4).Set("rescale_by", "keep_probability"); // the L1 rescale needs the whole tensor
            if (name == "layer_swap") p.Set("bottom", 1).Set("top", 1).Set("transition", 1);
            var input = Planned(m, Input(models, m.BaseModel == BaseModelUse.None ? null : x.d.Base, p, [x.d.Base.Length], x.seed, layer: 1, layerCount: 4));
            Assert.True(m.IsElementwise(p));
            var whole = new float[x.d.Base.Length];
            m.Merge(input, whole);
            Assert.Equal(whole, RunBlocked(m, input, x.block));
        }, iter: 50);

    [Fact]
    public void Dare_is_deterministic_for_a_seed_and_changes_with_it() =>
        Data(2, 3).Sample(d =>
        {
            var a = Run("dare_ties", d.Models, d.Base, p => p.SetAll("density", 0.5), seed: 11);
            var b = Run("dare_ties", d.Models, d.Base, p => p.SetAll("density", 0.5), seed: 11);
            Assert.Equal(a, b);
        }, iter: 50);

    [Fact]
    public void Dare_keeps_about_density_of_the_entries()
    {
        int n = 100_000;
        var b = new float[n];
        var m = Enumerable.Repeat(1f, n).ToArray();
        var got = Run("dare_linear", [m], b, p => p.SetAll("density", 0.3).Set("rescale_by", "keep_probability"), seed: 5);
        double kept = got.Count(v => v != 0) / (double)n;
        Assert.InRange(kept, 0.29, 0.31); // deterministic for this seed; ±0.01 is ~7 standard deviations
        Assert.All(got, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.3f) < 1e-6));
    }

    [Fact]
    public void F64_compute_matches_f32_on_exact_data()
    {
        double[][] m = [[1, -2, 3, 0], [-3, 1, 1, 0], [1, -1, -5, 2]];
        var got = Run("ties", m, new double[4], p => p.Set("weight", 2, 2.0).Set("ties_variant", "peft"));
        Assert.Equal([-3.0, -2, -10, 4], got);
    }
}
