using System.Text.Json.Nodes;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Checkpoints;

public sealed class OutputConfigTests
{
    [Theory]
    [InlineData("num_hidden_layers")]
    [InlineData("n_layer")]
    [InlineData("num_layers")]
    [InlineData("n_layers")]
    public void The_layer_count_key_each_architecture_uses_is_updated(string key)
    {
        var text = OutputConfig.Rewrite($"{{\"a\": 1, \"{key}\": 40, \"z\": [1, 2]}}", 48, null, "config.json");
        var o = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(48, (int)o[key]!);
        Assert.Equal(["a", key, "z"], o.Select(p => p.Key));   // order kept
        Assert.Equal(1, (int)o["a"]!);
    }

    [Fact]
    public void The_dtype_goes_into_torch_dtype_and_dtype_where_present_and_torch_dtype_otherwise()
    {
        var both = JsonNode.Parse(OutputConfig.Rewrite("{\"torch_dtype\": \"bfloat16\", \"dtype\": \"bfloat16\"}", null, DType.F16, "c"))!;
        Assert.Equal("float16", (string)both["torch_dtype"]!);
        Assert.Equal("float16", (string)both["dtype"]!);
        var newer = JsonNode.Parse(OutputConfig.Rewrite("{\"dtype\": \"bfloat16\"}", null, DType.F32, "c"))!.AsObject();
        Assert.Equal(["dtype"], newer.Select(p => p.Key));
        Assert.Equal("float32", (string)newer["dtype"]!);
        var none = JsonNode.Parse(OutputConfig.Rewrite("{}", null, DType.BF16, "c"))!;
        Assert.Equal("bfloat16", (string)none["torch_dtype"]!);
    }

    [Theory]
    [InlineData("{\"model_type\": \"x\"}", 4, "config.json has no layer count to update to 4")]
    [InlineData("[1, 2]", null, "config.json is not a JSON object")]
    [InlineData("{\"a\": ", null, "config.json is not valid JSON")]
    public void Configs_that_cannot_be_rewritten_are_refused(string json, int? layers, string message)
    {
        var e = Assert.Throws<ModelSoupsException>(() => OutputConfig.Rewrite(json, layers, DType.F16, "/m/config.json"));
        Assert.Contains(message, e.Message);
        Assert.Equal("/m/config.json", e.Path);
    }
}
