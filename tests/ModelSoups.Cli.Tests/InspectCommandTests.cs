using System.Text.Json;
using ModelSoups.Cli;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.Cli.Tests;

public class InspectCommandTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    string File1()
    {
        string p = _dir.File("a.safetensors");
        SafetensorsFile.Write(p,
        [
            (new TensorInfo("emb", DType.BF16, [4, 3]), new byte[24]),
            (new TensorInfo("head.bias", DType.F32, [3]), new byte[12]),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        return p;
    }

    [Fact]
    public void Prints_tensors_totals_and_metadata()
    {
        var (code, o, e) = Soup("inspect", File1());
        Assert.Equal(0, code);
        Assert.Equal("", e);
        Assert.Matches(@"emb\s+BF16\s+\[4, 3\]\s+12\s+24", o);
        Assert.Matches(@"head\.bias\s+F32\s+\[3\]\s+3\s+12", o);
        Assert.Contains("total: 2 tensors, 15 parameters, 36 bytes", o);
        Assert.Contains("BF16: 1 tensors, 12 parameters, 24 bytes", o);
        Assert.Contains("format = pt", o);
    }

    [Fact]
    public void Json_output_and_compatibility_of_two_checkpoints()
    {
        string a = File1();
        string b = _dir.File("b.safetensors");
        SafetensorsFile.Write(b,
        [
            (new TensorInfo("emb", DType.F32, [4, 3]), new byte[48]),
            (new TensorInfo("head.bias", DType.F32, [4]), new byte[16]),
            (new TensorInfo("extra", DType.U8, [1]), new byte[1]),
        ]);
        var (code, o, _) = Soup("inspect", a, b, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(o);
        var first = doc.RootElement.GetProperty("checkpoints")[0];
        Assert.Equal(36, first.GetProperty("totals").GetProperty("bytes").GetInt64());
        Assert.Equal(12, first.GetProperty("tensors")[0].GetProperty("parameters").GetInt64());
        var compat = doc.RootElement.GetProperty("compatibility");
        Assert.False(compat.GetProperty("compatible").GetBoolean());
        Assert.Equal(["emb:dtype_difference", "extra:missing", "head.bias:shape_mismatch"],
            compat.GetProperty("differences").EnumerateArray().Select(d => d.GetProperty("name").GetString() + ":" + d.GetProperty("kind").GetString()));

        var (_, plain, _) = Soup("inspect", a, b);
        Assert.Contains("compatible: no", plain);
        Assert.Contains("extra: missing: #1 missing; #2 U8 [1]", plain);
    }

    [Fact]
    public void A_bad_file_exits_2_with_one_stderr_line()
    {
        string p = _dir.File("bad.safetensors");
        File.WriteAllBytes(p, [1, 2, 3]);
        var (code, o, e) = Soup("inspect", p);
        Assert.Equal(2, code);
        Assert.Equal("", o);
        Assert.StartsWith($"soup: {p}: ", e);
        Assert.Single(e.TrimEnd('\n').Split('\n'));
    }
}
