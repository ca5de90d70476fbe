using System.Text;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Formats;

public class SafetensorsReaderTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string WriteRaw(byte[] bytes, string name = "t.safetensors")
    {
        string p = _dir.File(name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Fact]
    public void Reads_tensors_metadata_and_bytes_of_a_hand_built_file()
    {
        string json = """{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
        string p = WriteRaw(SafetensorsBytes.Build(json, 12));
        using var f = SafetensorsFile.Open(p);
        Assert.Equal(["a", "b"], f.Tensors.Select(t => t.Name));
        Assert.Equal(new byte[] { 8, 9, 10, 11 }, f.Find("b")!.GetBytes().ToArray());
        Assert.Equal(new byte[] { 2, 3, 4 }, f.Find("a")!.GetBytes(2, 3).ToArray());
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(DType.BF16, f.Find("b")!.DType);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Find("a")!.GetBytes(6, 3).ToArray());
    }

    [Fact]
    public void Accepts_json_whitespace_around_the_header_an_unaligned_data_start_rank0_and_zero_size_tensors()
    {
        // 8 + 3 + json + 2 is not a multiple of 8: data starts unaligned, which must still read correctly.
        string json = " \n\t{\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[8,8]},\"e\":{\"dtype\":\"F8_E4M3\",\"shape\":[3],\"data_offsets\":[8,11]}} \r";
        string p = WriteRaw(SafetensorsBytes.Build(json, 11));
        using var f = SafetensorsFile.Open(p);
        Assert.NotEqual(0, f.Header.DataStart % 8);
        Assert.Equal(1, f.Find("s")!.ElementCount);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (byte)i), f.Find("s")!.GetBytes().ToArray());
        Assert.Equal(0, f.Find("z")!.GetBytes().Length);
        Assert.Equal(new byte[] { 8, 9, 10 }, f.Find("e")!.GetBytes().ToArray());
    }

    [Fact]
    public void Header_only_read_does_not_need_the_data_to_be_mapped()
    {
        string p = WriteRaw(SafetensorsBytes.Build("""{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", 8));
        var h = SafetensorsHeader.Read(p);
        Assert.Equal(new[] { 1L }, h.Entries[0].Info.Shape);
        Assert.Equal(8 + h.HeaderLength, h.DataStart);
    }

    [Fact]
    public void An_all_empty_file_opens_without_mapping()
    {
        string p = WriteRaw(SafetensorsBytes.Build("{}      ", 0));
        using var f = SafetensorsFile.Open(p);
        Assert.Empty(f.Tensors);
    }

    [Fact]
    public void Writer_matches_the_reference_serialization_byte_for_byte()
    {
        // Golden bytes from huggingface/safetensors tensor.rs test_serialization: "attn.0" F32 [1,2,3] = 0..5.
        var data = new float[] { 0, 1, 2, 3, 4, 5 }.SelectMany(BitConverter.GetBytes).ToArray();
        string p = _dir.File("g.safetensors");
        SafetensorsFile.Write(p, [(new TensorInfo("attn.0", DType.F32, [1, 2, 3]), data)]);
        byte[] expected =
        [
            64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
            116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
            58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
            101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
            0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ];
        Assert.Equal(expected, File.ReadAllBytes(p));

        // test_empty with metadata {"framework":"pt"}: 40-byte header padded with spaces.
        SafetensorsFile.Write(p, [], new Dictionary<string, string> { ["framework"] = "pt" });
        byte[] expectedEmpty =
        [
            40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
            95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
            116, 34, 125, 125, 32, 32, 32, 32, 32,
        ];
        Assert.Equal(expectedEmpty, File.ReadAllBytes(p));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void Writer_orders_tensors_by_dtype_descending_then_name_like_the_reference_prepare()
    {
        string p = _dir.File("o.safetensors");
        SafetensorsFile.Write(p,
        [
            (new TensorInfo("b", DType.F16, [1]), new byte[2]),
            (new TensorInfo("a", DType.F16, [1]), new byte[2]),
            (new TensorInfo("u", DType.U8, [1]), new byte[1]),
            (new TensorInfo("z", DType.I64, [1]), new byte[8]),
            (new TensorInfo("f", DType.F32, [1]), new byte[4]),
        ]);
        var h = SafetensorsHeader.Read(p);
        Assert.Equal(["z", "f", "a", "b", "u"], h.Entries.Select(e => e.Name));
        Assert.Equal(0, h.DataStart % 8);
    }

    [Fact]
    public void Writer_refuses_f8()
    {
        var e = Assert.ThrowsAny<ModelSoupsException>(() =>
            SafetensorsFile.Write(_dir.File("f8.safetensors"), [(new TensorInfo("x", DType.F8_E5M2, [1]), new byte[1])]));
        Assert.Contains("F8_E5M2", e.Message);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    // ---- malformed input: one test per rule ----

    SafetensorsFormatException Bad(byte[] bytes)
    {
        string p = WriteRaw(bytes, "bad.safetensors");
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(p).Dispose());
        Assert.Equal(p, e.Path);
        Assert.StartsWith(p + ": ", e.UserMessage);
        Assert.DoesNotContain('\n', e.UserMessage);
        return e;
    }

    static string T(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    [Fact] public void Empty_file() => Assert.Equal(SafetensorsErrorKind.FileTooShort, Bad([]).Kind);
    [Fact] public void Shorter_than_the_length_prefix() => Assert.Equal(SafetensorsErrorKind.FileTooShort, Bad([1, 0, 0]).Kind);
    [Fact] public void Header_length_beyond_the_file() => Assert.Equal(SafetensorsErrorKind.HeaderBeyondFile, Bad(SafetensorsBytes.Build("{}", 0, claimedLength: 3)).Kind);
    [Fact] public void Header_length_over_the_limit() => Assert.Equal(SafetensorsErrorKind.HeaderTooLarge, Bad(SafetensorsBytes.Build("{}", 0, claimedLength: 100_000_001)).Kind);
    [Fact] public void Header_length_of_u64_max() => Assert.Equal(SafetensorsErrorKind.HeaderTooLarge, Bad(SafetensorsBytes.Build("{}", 0, claimedLength: ulong.MaxValue)).Kind);
    [Fact] public void Invalid_utf8() => Assert.Equal(SafetensorsErrorKind.InvalidUtf8, Bad(SafetensorsBytes.Build([(byte)'{', 0xC3, 0x28, (byte)'}'], 0)).Kind);
    [Fact] public void Invalid_json() => Assert.Equal(SafetensorsErrorKind.InvalidJson, Bad(SafetensorsBytes.Build("{\"a\":", 0)).Kind);
    [Fact] public void Non_object_header() => Assert.Equal(SafetensorsErrorKind.InvalidSchema, Bad(SafetensorsBytes.Build("[1,2]", 0)).Kind);
    [Fact] public void Deeply_nested_json() => Assert.Equal(SafetensorsErrorKind.InvalidJson, Bad(SafetensorsBytes.Build("{\"a\":" + new string('[', 100_000) + new string(']', 100_000) + "}", 0)).Kind);
    [Fact] public void Missing_field() => Assert.Equal(SafetensorsErrorKind.InvalidSchema, Bad(SafetensorsBytes.Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0)).Kind);
    [Fact] public void Unknown_dtype() => Assert.Equal(SafetensorsErrorKind.UnknownDType, Bad(SafetensorsBytes.Build("{" + T("a", "Q7", "[1]", 0, 1) + "}", 1)).Kind);

    [Fact]
    public void Unsupported_dtype_is_refused_by_name()
    {
        var e = Bad(SafetensorsBytes.Build("{" + T("a", "U16", "[1]", 0, 2) + "}", 2));
        Assert.Equal(SafetensorsErrorKind.UnsupportedDType, e.Kind);
        Assert.Contains("U16 is not supported", e.Message);
    }

    [Fact] public void Negative_shape() => Assert.Equal(SafetensorsErrorKind.InvalidShape, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[-1]", 0, 0) + "}", 0)).Kind);
    [Fact] public void Non_integer_shape() => Assert.Equal(SafetensorsErrorKind.InvalidShape, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[1.5]", 0, 1) + "}", 1)).Kind);
    [Fact] public void Shape_dimension_beyond_64_bits() => Assert.Equal(SafetensorsErrorKind.InvalidShape, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[99999999999999999999]", 0, 1) + "}", 1)).Kind);
    [Fact] public void Shape_product_overflows() => Assert.Equal(SafetensorsErrorKind.Overflow, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[4294967296,4294967296,0]", 0, 0) + "}", 0)).Kind);
    [Fact] public void Byte_size_overflows() => Assert.Equal(SafetensorsErrorKind.Overflow, Bad(SafetensorsBytes.Build("{" + T("a", "F64", "[2305843009213693952]", 0, 0) + "}", 0)).Kind);
    [Fact] public void Offsets_reversed() => Assert.Equal(SafetensorsErrorKind.InvalidOffsets, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[0]", 4, 0) + "}", 4)).Kind);
    [Fact] public void Offsets_overlapping() => Assert.Equal(SafetensorsErrorKind.InvalidOffsets, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[4]", 0, 4) + "," + T("b", "U8", "[4]", 2, 6) + "}", 6)).Kind);
    [Fact] public void Offsets_gapped() => Assert.Equal(SafetensorsErrorKind.InvalidOffsets, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[4]", 0, 4) + "," + T("b", "U8", "[4]", 6, 10) + "}", 10)).Kind);
    [Fact] public void Offsets_not_starting_at_zero() => Assert.Equal(SafetensorsErrorKind.InvalidOffsets, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[4]", 2, 6) + "}", 6)).Kind);
    [Fact] public void Offsets_out_of_range() => Assert.Equal(SafetensorsErrorKind.DataOutOfRange, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[8]", 0, 8) + "}", 4)).Kind);
    [Fact] public void Size_not_matching_dtype_times_shape() => Assert.Equal(SafetensorsErrorKind.SizeMismatch, Bad(SafetensorsBytes.Build("{" + T("a", "F32", "[2]", 0, 4) + "}", 4)).Kind);
    [Fact] public void Trailing_bytes() => Assert.Equal(SafetensorsErrorKind.TrailingBytes, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[4]", 0, 4) + "}", 5)).Kind);
    [Fact] public void Non_string_metadata() => Assert.Equal(SafetensorsErrorKind.InvalidSchema, Bad(SafetensorsBytes.Build("{\"__metadata__\":{\"n\":1}}", 0)).Kind);
    [Fact] public void Duplicate_names() => Assert.Equal(SafetensorsErrorKind.DuplicateName, Bad(SafetensorsBytes.Build("{" + T("a", "U8", "[0]", 0, 0) + "," + T("a", "U8", "[0]", 0, 0) + "}", 0)).Kind);
    [Fact] public void Missing_file() => Assert.Equal(SafetensorsErrorKind.Unreadable, Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(_dir.File("nope.safetensors"))).Kind);
}

public class SafetensorsEscapeTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // System.Text.Json parses "\ud800" and only throws InvalidOperationException on reading the string.
    [Theory]
    [InlineData("{\"\\ud800\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", SafetensorsErrorKind.InvalidJson)]
    [InlineData("{\"__metadata__\":{\"k\":\"\\udfff\"}}", SafetensorsErrorKind.InvalidJson)]
    [InlineData("{\"a\":{\"dtype\":\"U8\\u0000\",\"shape\":[0],\"data_offsets\":[0,0]}}", SafetensorsErrorKind.UnknownDType)]
    public void Escaped_lone_surrogates_are_invalid_json(string json, SafetensorsErrorKind kind)
    {
        string p = _dir.File("e.safetensors");
        File.WriteAllBytes(p, SafetensorsBytes.Build(json, 0));
        Assert.Equal(kind, Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(p).Dispose()).Kind);
    }
}
