using System.Runtime.InteropServices;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Durability;

public sealed class NonFiniteCountTests
{
    /// <summary>Scalar reference: decode every element to double and ask IsFinite.</summary>
    static long Reference(DType type, byte[] bytes)
    {
        var f = new float[bytes.Length / type.Size()];
        DTypeConversion.ToSingle(type, bytes, f);
        return f.LongCount(x => !float.IsFinite(x));
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F8_E5M2)]
    [InlineData(DType.F8_E4M3)]
    public void The_vectorised_count_equals_the_scalar_reference_on_random_bit_patterns(DType type)
    {
        var rng = new Random(17);
        foreach (int n in new[] { 0, 1, 7, 31, 33, 1000, 4099 })
        {
            var bytes = new byte[n * type.Size()];
            rng.NextBytes(bytes);
            Assert.Equal(Reference(type, bytes), NonFiniteCount.Count(type, bytes));
        }
    }

    [Fact]
    public void Doubles_and_known_values_are_counted()
    {
        double[] d = [1, double.NaN, double.PositiveInfinity, -0.0, double.MaxValue, double.NegativeInfinity, double.Epsilon];
        Assert.Equal(3, NonFiniteCount.Count(DType.F64, MemoryMarshal.AsBytes(d.AsSpan())));
        Assert.Equal(3, NonFiniteCount.Count<double>(d));
        float[] f = [float.NaN, 1e38f, float.MaxValue];
        Assert.Equal(1, NonFiniteCount.Count<float>(f));
        Assert.Equal(0, NonFiniteCount.Count(DType.I64, new byte[16]));
    }
}
