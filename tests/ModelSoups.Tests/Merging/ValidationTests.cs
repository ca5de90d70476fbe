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
                "slerp", "nuslerp", "multislerp", "karcher", "model_stock", "nearswap", "arcee_fusion", "layer_swap", "passthrough"],
            MergeMethods.All.Select(m => m.Name));
        foreach (var m in MergeMethods.All)
            Assert.All(m.Parameters, d => Assert.False(string.IsNullOrWhiteSpace(d.Description)));
        Assert.Same(MergeMethods.Get("TIES"), MergeMethods.Get("ties"));
    }
}
