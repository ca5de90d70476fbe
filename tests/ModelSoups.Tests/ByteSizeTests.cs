namespace ModelSoups.Tests;

public class ByteSizeTests
{
    [Theory]
    [InlineData("5GB", 5_000_000_000)]
    [InlineData("500MB", 500_000_000)]
    [InlineData("2GiB", 2_147_483_648)]
    [InlineData("10KiB", 10_240)]
    [InlineData("1.5GB", 1_500_000_000)]
    [InlineData("123", 123)]
    [InlineData(" 64 kib ", 65_536)]
    [InlineData("1.1GB", 1_100_000_000)]
    [InlineData("2.5B", 2)]
    [InlineData("1TiB", 1L << 40)]
    public void Shard_sizes_parse_decimal_and_binary_units(string text, long bytes) => Assert.Equal(bytes, ByteSize.Parse(text, "--max-shard-size"));

    [Fact]
    public void Shard_size_rejects_garbage() => Assert.Throws<ModelSoupsException>(() => ByteSize.Parse("five gigs", "--max-shard-size"));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-5GB")]
    [InlineData("0.5B")]
    [InlineData("1e9")]
    [InlineData("9999999999999999999999999999TiB")]
    [InlineData("10000000TB")]
    public void Sizes_below_one_byte_out_of_range_or_malformed_are_refused(string text)
    {
        var e = Assert.Throws<ModelSoupsException>(() => ByteSize.Parse(text, "--memory-budget"));
        Assert.StartsWith($"--memory-budget: '{text}' is not a size", e.Message);
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1536, "1.50 KiB")]
    [InlineData(5_000_000_000, "4.66 GiB")]
    public void Format_uses_binary_units(long bytes, string text) => Assert.Equal(text, ByteSize.Format(bytes));
}
