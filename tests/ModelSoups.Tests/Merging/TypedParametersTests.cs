using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

/// <summary>Methods read a typed record of their parameters, built once when the plan validates them.</summary>
public sealed class TypedParametersTests
{
    /// <summary>The planning step (what MergePlan does once per tensor): validate, which binds the record.</summary>
    static MergeParameters Planned(IMergeMethod m, MergeParameters p, bool hasBase)
    {
        m.Validate(p, hasBase);
        return p;
    }

    [Fact]
    public void Ties_values_become_one_record_at_validation_and_every_block_reuses_it()
    {
        var ties = (Ties)MergeMethods.Get("ties");
        var p = new MergeParameters(ties, 2).Set("density", 0, 0.3).Set("weight", 1, 0.5).Set("lambda", 0.8).Set("majority_sign_method", "frequency");
        ties.Validate(p, hasBase: true);
        var bound = ties.Typed(p);
        // Unset values take the declared defaults: weight 1, density 1, normalize true (TIES), rescale false.
        Assert.Equal([1.0, 0.5], bound.Weights);
        Assert.Equal([0.3, 1.0], bound.Densities);
        Assert.Equal(0.8, bound.Lambda);
        Assert.True(bound.Normalize);
        Assert.False(bound.Rescale);
        Assert.Equal(TaskVectorSparsification.Magnitude, bound.Sparsification);
        Assert.True(bound.ElectByCount);
        Assert.True(bound.MergekitVariant);
        Assert.False(bound.AllDense);
        Assert.Same(bound, ties.Typed(p));          // not rebuilt per block
        p.Set("density", 0, 1.0);                   // a change drops the record: nothing reads it until it is planned again
        Assert.Throws<InvalidOperationException>(() => ties.Typed(p));
        ties.Validate(p, hasBase: true);            // planning again binds the new values
        Assert.NotSame(bound, ties.Typed(p));
        Assert.True(ties.Typed(p).AllDense);
    }

    [Fact]
    public void Task_arithmetic_trim_resolves_the_sparsification_and_della_checks_the_record()
    {
        var ta = (TaskArithmetic)MergeMethods.Get("task_arithmetic");
        Assert.Equal(TaskVectorSparsification.None, ta.Typed(Planned(ta, new MergeParameters(ta, 1), hasBase: true)).Sparsification);
        Assert.Equal(TaskVectorSparsification.Magnitude, ta.Typed(Planned(ta, new MergeParameters(ta, 1).Set("trim", true), hasBase: true)).Sparsification);

        var della = MergeMethods.Get("della");
        var bad = new MergeParameters(della, 1).Set("density", 0, 0.9).Set("epsilon", 0, 0.2);   // 0.9 + 0.2 ≥ 1
        var e = Assert.Throws<ModelSoupsException>(() => della.Validate(bad, hasBase: true));
        Assert.Contains("density ± epsilon", e.Message);
    }

    [Fact]
    public void Linear_weights_of_extreme_size_are_scaled_once_into_the_record()
    {
        var linear = (Linear)MergeMethods.Get("linear");
        var p = new MergeParameters(linear, 2).Set("weight", 0, 1e-39).Set("weight", 1, 3e-39);
        linear.Validate(p, hasBase: false);
        var t = linear.Typed(p);
        // Largest magnitude 3e-39 < 2^-60: both divided by it, so the weights are 1/3 and 1 and the divisor their sum.
        Assert.Equal(1e-39 / 3e-39, t.Weights[0]);
        Assert.Equal(1.0, t.Weights[1]);
        Assert.Equal(1e-39 / 3e-39 + 1.0, t.Divisor);
        var zero = new MergeParameters(linear, 2).Set("weight", 0, 1.0).Set("weight", 1, -1.0);
        Assert.Throws<ModelSoupsException>(() => linear.Validate(zero, hasBase: false));
        Assert.Equal(1.0, linear.Typed(Planned(linear, new MergeParameters(linear, 2).Set("normalize", false), hasBase: false)).Divisor);
    }

    [Fact]
    public void Interpolating_methods_bind_their_records_too()
    {
        var slerp = (Slerp)MergeMethods.Get("slerp");
        var one = new MergeParameters(slerp, 1).Set("t", 0.25);
        Assert.Equal(new SlerpParameters(0.25, FromBase: true), slerp.Typed(Planned(slerp, one, hasBase: true)));
        Assert.Throws<ModelSoupsException>(() => slerp.Validate(one, hasBase: false));   // from the base, but no base

        var nuslerp = (NuSlerp)MergeMethods.Get("nuslerp");
        var cancel = new MergeParameters(nuslerp, 2).Set("weight", 0, 1.0).Set("weight", 1, -1.0);
        Assert.Equal(0.5, nuslerp.Typed(Planned(nuslerp, cancel, hasBase: false)).T);                                        // weights cancel: mergekit's ½
        Assert.Equal(0.75, nuslerp.Typed(Planned(nuslerp, new MergeParameters(nuslerp, 2).Set("weight", 1, 3.0), hasBase: false)).T);   // 3 / (1 + 3)

        var karcher = (Karcher)MergeMethods.Get("karcher");
        var k = new MergeParameters(karcher, 2).Set("max_iter", 7);
        Assert.Equal(7, karcher.Typed(Planned(karcher, k, hasBase: false)).MaxIterations);
        Assert.True(((ModelStock)MergeMethods.Get("model_stock")).Typed(Planned(MergeMethods.Get("model_stock"), new MergeParameters(MergeMethods.Get("model_stock"), 2).Set("filter_wise", true), hasBase: true)).FilterWise);
    }
}
