using ModelSoups.Formats;

namespace ModelSoups.Tests.Formats;

public class FileSignatureTests
{
    static byte[] B(params object[] parts) => parts.SelectMany(p => p switch
    {
        string s => s.Select(c => (byte)c),
        byte[] b => b,
        int i => [(byte)i],
        _ => throw new ArgumentException(),
    }).ToArray();

    [Fact]
    public void Safetensors_header_of_640_bytes_is_not_mistaken_for_a_pickle()
    {
        // 640 = 0x280: the length prefix starts 0x80 0x02, exactly like a protocol 2 pickle; the '{' at byte 8 decides.
        Assert.Equal(FileKind.Safetensors, FileSignature.Detect(B(0x80, 0x02, 0, 0, 0, 0, 0, 0, "{\"a\":1}"), 2000));
        Assert.Equal(FileKind.Pickle, FileSignature.Detect(B(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9), 2000));   // torch's legacy magic
    }

    [Theory]
    [InlineData(new byte[] { (byte)'P', (byte)'K', 3, 4, 0 }, FileKind.Zip)]
    [InlineData(new byte[] { (byte)'G', (byte)'G', (byte)'U', (byte)'F', 3, 0, 0, 0 }, FileKind.Gguf)]
    [InlineData(new byte[] { 0x08, 0x07, 0x12, 0x07 }, FileKind.Onnx)]
    [InlineData(new byte[] { 1, 2, 3 }, FileKind.Unknown)]
    [InlineData(new byte[] { 0x80, 0x04, 0x95 }, FileKind.Pickle)]
    public void Kinds_from_first_bytes(byte[] start, FileKind kind) => Assert.Equal(kind, FileSignature.Detect(start, 1000));

    [Fact]
    public void Safetensors_claiming_more_than_the_file_is_not_safetensors()
    {
        // The length must fit in the file, else the file is not (a complete) safetensors file.
        Assert.Equal(FileKind.Unknown, FileSignature.Detect(B(0x00, 0x10, 0, 0, 0, 0, 0, 0, "{}"), 100));
    }
}
