using ModelSoups.Recipes;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Recipes;

public class DTypeNamesTests
{
    [Theory]
    [InlineData("float32", DType.F32)]
    [InlineData(" FP32 ", DType.F32)]
    [InlineData("bfloat16", DType.BF16)]
    [InlineData("BF16", DType.BF16)]
    [InlineData("half", DType.F16)]
    [InlineData("double", DType.F64)]
    [InlineData("i64", DType.I64)]   // a safetensors name, any case
    public void Names_people_write_parse(string name, DType expected)
    {
        Assert.True(DTypeNames.TryParse(name, out var t));
        Assert.Equal(expected, t);
    }

    [Fact]
    public void Output_and_compute_sets()
    {
        Assert.True(DTypeNames.TryParseOutput("bfloat16", out _));
        Assert.False(DTypeNames.TryParseOutput("int64", out _));
        Assert.False(DTypeNames.TryParseOutput("F8_E4M3", out _));   // readable, not writable
        Assert.True(DTypeNames.TryParseCompute("float64", out var c) && c == DType.F64);
        Assert.False(DTypeNames.TryParseCompute("bfloat16", out _));
        Assert.False(DTypeNames.TryParse("float8", out _));
    }

    [Fact]
    public void Recipe_names_round_trip()
    {
        foreach (var t in new[] { DType.F32, DType.F64, DType.BF16, DType.F16, DType.I64 })
            Assert.True(DTypeNames.TryParse(DTypeNames.RecipeName(t), out var back) && back == t, t.ToString());
    }
}
