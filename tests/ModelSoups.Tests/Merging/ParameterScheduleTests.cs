using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

public class ParameterScheduleTests
{
    [Theory]
    [InlineData("model.layers.12.mlp.up_proj.weight", 12)]
    [InlineData("transformer.h.3.attn.c_attn.weight", 3)]
    [InlineData("bert.encoder.layer.5.attention.self.query.weight", 5)]
    [InlineData("blocks.0.norm1.weight", 0)]
    [InlineData("visual.transformer.resblocks.7.ln_1.weight", null)]
    [InlineData("model.embed_tokens.weight", null)]
    [InlineData("lm_head.weight", null)]
    [InlineData("model.layers.x.weight", null)]
    [InlineData("hh.4.weight", null)]
    public void Parses_layer_index(string name, int? expected) => Assert.Equal(expected, LayerIndex.Parse(name));

    [Fact]
    public void Position_follows_mergekit()
    {
        Assert.Equal(0.5, ParameterSchedule.Position("model.layers.5.x", 5, 11));
        Assert.Equal(1.0, ParameterSchedule.Position("model.layers.0.x", 0, 1)); // one layer → t = 1
        Assert.Equal(0.0, ParameterSchedule.Position("model.embed_tokens.weight", null, 32));
        // mergekit main (plan.py, plan_module): the post-layer weights (final norm, lm_head) are read
        // with a ConfigReader built with t = 0, like the embeddings — not t = 1.
        Assert.Equal(0.0, ParameterSchedule.Position("lm_head.weight", null, 32));
        Assert.Equal(0.0, ParameterSchedule.Position("model.norm.weight", null, 32));
        // A gradient [0.2, 0.9] therefore gives lm_head 0.2, the value at its start.
        Assert.Equal(0.2, ParameterSchedule.Gradient(0.2, 0.9).ValueFor("lm_head.weight", null, 32));
    }

    [Fact]
    public void Gradient_interpolates_linearly_over_the_layer_range()
    {
        var g = ParameterSchedule.Gradient(0, 1);
        Assert.Equal(0.0, g.ValueFor("model.layers.0.x", 0, 11));
        Assert.Equal(0.3, (double)g.ValueFor("model.layers.3.x", 3, 11)!, 12);
        Assert.Equal(1.0, g.ValueFor("model.layers.10.x", 10, 11));
        // mergekit README example, 32 layers: [0, 0.3, 0.5, 0.7, 1]; layer 8 → t = 8/31,
        // scaled = 32/31 → between 0.3 and 0.5 at 1/31: 0.3·30/31 + 0.5·1/31.
        var five = ParameterSchedule.Gradient(0, 0.3, 0.5, 0.7, 1);
        Assert.Equal(0.3 * 30 / 31 + 0.5 / 31, (double)five.ValueFor("model.layers.8.self_attn.q_proj.weight", 8, 32)!, 12);
        Assert.Equal(1.0, five.ValueFor("model.layers.31.x", 31, 32));
        Assert.Equal(7.0, ParameterSchedule.Gradient(7).ValueFor("model.layers.3.x", 3, 8));
    }

    [Fact]
    public void Filters_take_the_first_match_with_fallback()
    {
        var s = ParameterSchedule.Filtered(
            ("self_attn", ParameterSchedule.Gradient(0, 1)),
            ("mlp", ParameterSchedule.Constant(0.25)),
            (null, ParameterSchedule.Constant(0.5)));
        Assert.Equal(0.5, s.ValueFor("model.layers.4.self_attn.q_proj.weight", 4, 9));
        Assert.Equal(0.25, s.ValueFor("model.layers.4.mlp.up_proj.weight", 4, 9));
        Assert.Equal(0.5, s.ValueFor("model.norm.weight", null, 9));
        var noFallback = ParameterSchedule.Filtered(("mlp", ParameterSchedule.Constant(1.0)));
        Assert.Null(noFallback.ValueFor("model.norm.weight", null, 9));
        Assert.Equal(1.0, ParameterSchedule.Filtered(("*", ParameterSchedule.Constant(1.0))).ValueFor("x", null, 1));
        Assert.Equal([0.0, 1.0, 0.25, 0.5], s.PossibleValues().Cast<double>());
    }

    [Fact]
    public void Constants_keep_flags_and_words()
    {
        Assert.Equal(true, ParameterSchedule.Constant(true).ValueFor("x", null, 1));
        Assert.Equal("frequency", ParameterSchedule.Constant("frequency").ValueFor("x", null, 1));
        Assert.Equal(3.0, ParameterSchedule.Constant(3).ValueFor("x", null, 1));
    }

    [Fact]
    public void Empty_gradient_is_a_user_error() =>
        Assert.Throws<ModelSoupsException>(() => ParameterSchedule.Gradient());

    [Theory]
    [InlineData("model.layers.12.mlp.up_proj.weight", "model.layers.")]
    [InlineData("vision_tower.encoder.layers.3.attn.q.weight", "vision_tower.encoder.layers.")]
    [InlineData("language_model.model.layers.3.attn.q.weight", "language_model.model.layers.")]
    [InlineData("lm_head.weight", null)]
    public void Stack_is_the_name_up_to_the_layer_number(string name, string? stack) => Assert.Equal(stack, LayerIndex.Stack(name));
}
