using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Formats;

public class SafetensorsFuzzTests
{
    /// <summary>
    /// Mutates a valid file (byte flips, mostly in the header; truncations; appended bytes; a new
    /// length prefix) and opens it: the result must be a clean ModelSoupsException or a file whose
    /// every tensor can be read. Anything else is a bug. Seeded, so failures reproduce.
    /// </summary>
    [Fact]
    public void Mutated_files_fail_cleanly_or_read_fully()
    {
        using var dir = new TempDir();
        string seedFile = dir.File("seed.safetensors");
        SafetensorsFile.Write(seedFile,
        [
            (new TensorInfo("model.layers.0.weight", DType.BF16, [3, 4]), Enumerable.Range(0, 24).Select(i => (byte)i).ToArray()),
            (new TensorInfo("bias", DType.F32, [4]), new byte[16]),
            (new TensorInfo("scalar", DType.I64, []), new byte[8]),
            (new TensorInfo("empty", DType.U8, [0, 7]), []),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        byte[] original = File.ReadAllBytes(seedFile);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(original, 0);

        var rng = new Random(20240531);
        string p = dir.File("fuzz.safetensors");
        int clean = 0, valid = 0;
        for (int iter = 0; iter < 3000; iter++)
        {
            byte[] bytes = (byte[])original.Clone();
            switch (rng.Next(6))
            {
                case 5:   // splice a JSON-ish token into the header and fix the length prefix
                {
                    string[] tokens = ["\\ud800", "\\u0000", "\"", "[", "]", "{", "}", ",", ":", "-1", "1e3", "0.5", "99999999999999999999", "null", "\"U16\"", "\"__metadata__\""];
                    byte[] tok = System.Text.Encoding.UTF8.GetBytes(tokens[rng.Next(tokens.Length)]);
                    int at = rng.Next(8, headerEnd);
                    bytes = [.. bytes[..at], .. tok, .. bytes[at..]];
                    BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)(headerEnd - 8 + tok.Length));
                    break;
                }
                case 0 or 1:   // flip 1-3 bytes in the header
                    for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(8, headerEnd)] = (byte)rng.Next(256);
                    break;
                case 2:   // flip anywhere, including the length prefix
                    bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 3:   // truncate
                    bytes = bytes[..rng.Next(bytes.Length)];
                    break;
                default:  // append
                    bytes = [.. bytes, .. new byte[rng.Next(1, 9)]];
                    break;
            }
            File.WriteAllBytes(p, bytes);
            try
            {
                using var f = SafetensorsFile.Open(p);
                long sum = 0;
                foreach (var t in f.Tensors) foreach (var b in t.GetBytes()) sum += b;
                valid++;
            }
            catch (ModelSoupsException)
            {
                clean++;
            }
        }
        Assert.Equal(3000, clean + valid);
        Assert.True(clean > 1000, $"only {clean} mutations were rejected");
    }
}
