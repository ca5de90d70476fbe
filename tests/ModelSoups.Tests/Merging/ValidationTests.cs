using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

/// <summary>One test per rule a recipe can break; each is a ModelSoupsException with a clear sentence.</summary>
public class ValidationTests
{
    static ModelSoupsException Fails(string method, int models, bool hasBase, Action<MergeParameters> set)
    {
        var m = MergeMethods.Get(method);
        var p = new MergeParameters(m, models);
        set(p);
        return Assert.Throws<ModelSoupsException>(() => m.Validate(p, hasBase, "model.layers.0.mlp.weight"));
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Density_outside_zero_one(double d)
    {
        var e = Fails("ties", 2, true, p => p.Set("density", 1, d));
        Assert.Contains("'density' of model 1", e.Message);
        Assert.Contains("(0, 1]", e.Message);
    }

    [Fact]
    public void Negative_gamma() => Assert.Contains("'gamma'", Fails("breadcrumbs", 1, true, p => p.SetAll("gamma", -0.1)).Message);

    [Fact]
    public void T_outside_zero_one() => Assert.Contains("[0, 1]", Fails("slerp", 2, false, p => p.Set("t", 1.5)).Message);

    [Fact]
    public void Slerp_needs_t() => Assert.Contains("needs parameter 't'", Fails("slerp", 2, false, _ => { }).Message);

    [Fact]
    public void Wrong_model_count()
    {
        Assert.Contains("exactly 2", Fails("slerp", 3, false, p => p.Set("t", 0.5)).Message);
        Assert.Contains("at least 2", Fails("model_stock", 1, true, _ => { }).Message);
    }

    [Fact]
    public void Missing_base()
    {
        foreach (var name in new[] { "task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs", "breadcrumbs_ties", "model_stock" })
            Assert.Contains("needs a base_model", Fails(name, 2, false, _ => { }).Message);
    }

    [Fact]
    public void Unknown_parameter_and_wrong_scope()
    {
        Assert.Contains("has no parameter 'densty'", Fails("ties", 2, true, p => p.Set("densty", 0.5)).Message);
        Assert.Contains("set per model", Fails("ties", 2, true, p => p.Set("density", 0.5)).Message);
        Assert.Contains("is global", Fails("ties", 2, true, p => p.Set("lambda", 0, 0.5)).Message);
    }

    [Fact]
    public void Bad_choice_and_type()
    {
        Assert.Contains("total | frequency", Fails("ties", 2, true, p => p.Set("majority_sign_method", "sum")).Message);
        Assert.Contains("true or false", Fails("linear", 2, false, p => p.Set("normalize", 1.0)).Message);
        Assert.Contains("whole number", Fails("layer_swap", 2, false, p => p.Set("bottom", 1.5).Set("top", 1)).Message);
    }

    [Fact]
    public void Linear_weights_summing_to_zero() =>
        Assert.Contains("sum to zero", Fails("linear", 2, false, p => p.Set("weight", 1, -1.0)).Message);

    [Fact]
    public void Passthrough_source_out_of_range() =>
        Assert.Contains("does not exist", Fails("passthrough", 2, false, p => p.Set("source", 2)).Message);

    [Fact]
    public void Unknown_method_lists_known_ones()
    {
        var e = Assert.Throws<ModelSoupsException>(() => MergeMethods.Get("tie"));
        Assert.Contains("ties", e.Message);
    }

    [Fact]
    public void Registry_lists_every_method_once_with_declared_parameters()
    {
        Assert.Equal(["linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "sce",
                "slerp", "nuslerp", "multislerp", "karcher", "model_stock", "nearswap", "arcee_fusion", "ram", "ramplus_tl", "layer_swap", "passthrough"],
            MergeMethods.All.Select(m => m.Name));
        foreach (var m in MergeMethods.All)
            Assert.All(m.Parameters, d => Assert.False(string.IsNullOrWhiteSpace(d.Description)));
        Assert.Same(MergeMethods.Get("TIES"), MergeMethods.Get("ties"));
    }

    [Fact]
    public void Della_epsilon_must_keep_probabilities_inside_zero_one()
    {
        // density 0.5 ± 0.6 leaves (0, 1): mergekit della_magprune raises the same condition.
        var e = Fails("della", 2, true, p => p.SetAll("density", 0.5).SetAll("epsilon", 0.6));
        Assert.Contains("density ± epsilon of model 0", e.Message);
        Assert.Contains("model.layers.0.mlp.weight", e.Message);
    }

    [Fact]
    public void New_methods_check_model_counts_and_required_values()
    {
        Assert.Contains("needs parameter 't'", Fails("nearswap", 1, true, _ => { }).Message);
        Assert.Contains("exactly 1", Fails("nearswap", 2, true, p => p.Set("t", 0.1)).Message);
        Assert.Contains("exactly 1", Fails("arcee_fusion", 2, true, _ => { }).Message);
        Assert.Contains("needs a base_model", Fails("arcee_fusion", 1, false, _ => { }).Message);
        Assert.Contains("needs a base_model", Fails("sce", 2, false, _ => { }).Message);
        Assert.Contains("exactly 2", Fails("nuslerp", 1, true, _ => { }).Message);
        Assert.Contains("base_model and one other model", Fails("slerp", 1, false, p => p.Set("t", 0.5)).Message);
        Assert.Contains("sum to zero", Fails("multislerp", 2, false, p => p.Set("weight", 1, -1.0)).Message);
        Assert.Contains("whole number", Fails("karcher", 2, false, p => p.Set("max_iter", 2.5)).Message);
        Assert.Contains("[0, 1]", Fails("sce", 2, true, p => p.Set("select_topk", 1.5)).Message);
        Assert.Contains("l1 | keep_probability", Fails("dare_ties", 2, true, p => p.Set("rescale_by", "paper")).Message);
    }

    [Fact]
    public void Ties_variant_choices_and_default()
    {
        var ties = MergeMethods.Get("ties");
        Assert.Equal("mergekit", ties.Parameters.Single(d => d.Name == "ties_variant").Default);
        Assert.Contains("mergekit | peft", Fails("ties", 2, true, p => p.Set("ties_variant", "paper")).Message);
    }

    [Theory]
    [InlineData("task_arithmetic", false, false)]
    [InlineData("ties", true, false)]
    [InlineData("dare_linear", false, true)]
    [InlineData("dare_ties", false, true)]
    [InlineData("breadcrumbs", false, false)]
    [InlineData("breadcrumbs_ties", false, false)]
    [InlineData("della", true, true)]
    [InlineData("della_linear", false, true)]
    public void Normalize_and_rescale_default_as_mergekit(string method, bool normalize, bool rescale)
    {
        // mergekit merge_methods/registry.py: default_normalize and default_rescale per method.
        var m = MergeMethods.Get(method);
        Assert.Equal(normalize, m.Parameters.Single(d => d.Name == "normalize").Default);
        Assert.Equal(rescale, m.Parameters.Single(d => d.Name == "rescale").Default);
    }

    [Fact]
    public void Validation_runs_once_and_again_after_a_change()
    {
        // The plan validates (and binds) once; merging never checks, but a value set afterwards must be planned
        // again — merging refuses values no plan has seen — and planning checks it.
        var m = MergeMethods.Get("ties");
        var p = new MergeParameters(m, 1).SetAll("density", 0.5);
        m.Validate(p, hasBase: true);
        float[] x = [1, 2], b = [0, 0];
        var output = new float[2];
        m.Merge(MergeRunner.Input([x], b, p, [2]), output);
        p.Set("density", 0, 2.0);
        Assert.Throws<InvalidOperationException>(() => m.Merge(MergeRunner.Input([x], b, p, [2]), output));
        Assert.Contains("'density' of model 0", Assert.Throws<ModelSoupsException>(() => m.Merge(MergeRunner.Planned(m, MergeRunner.Input([x], b, p, [2])), output)).Message);
        // Validated with a base does not stand for a call without one.
        var q = new MergeParameters(m, 1);
        m.Validate(q, hasBase: true);
        Assert.Throws<InvalidOperationException>(() => m.Merge(MergeRunner.Input<float>([x], null, q, [2]), output));
        Assert.Contains("needs a base_model", Assert.Throws<ModelSoupsException>(() => m.Merge(MergeRunner.Planned(m, MergeRunner.Input<float>([x], null, q, [2])), output)).Message);
    }
}
