using ModelSoups.Checkpoints;

namespace ModelSoups.Tests.Formats.PyTorch;

public sealed class PyTorchFuzzTests
{
    /// <summary>
    /// Mutates real torch.save files (byte flips, mostly in the pickle at the start; flips anywhere,
    /// including zip headers and storage records; truncations; appended bytes) and opens each one:
    /// the result must be a clean ModelSoupsException or a checkpoint whose every tensor can be read.
    /// Any other exception, a crash or a hang is a bug. Seeded, so failures reproduce.
    /// </summary>
    [Theory]
    [InlineData("tiny_a.bin", 20240613)]       // zip layout
    [InlineData("views_legacy.pt", 20240614)]  // legacy layout, with strided views
    [InlineData("views.pt", 20240615)]         // zip with views and tied weights
    public void Mutated_files_fail_cleanly_or_read_fully(string fixture, int seed)
    {
        using var dir = new TempDir();
        byte[] original = File.ReadAllBytes(PyTorchFixtures.Fixture(fixture));
        int pickleRegion = Math.Min(original.Length, 900);
        var rng = new Random(seed);
        string p = dir.File("fuzz.bin");
        int clean = 0, valid = 0;
        const int Iterations = 2000;
        for (int iter = 0; iter < Iterations; iter++)
        {
            byte[] bytes = (byte[])original.Clone();
            switch (rng.Next(6))
            {
                case 0 or 1:   // 1-3 random bytes in the pickle region
                    for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(pickleRegion)] = (byte)rng.Next(256);
                    break;
                case 2:        // one bit anywhere
                    bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 3:        // truncate
                    bytes = bytes[..rng.Next(bytes.Length)];
                    break;
                case 4:        // a small integer operand made large (sizes, offsets, lengths)
                {
                    int at = rng.Next(bytes.Length - 4);
                    BitConverter.TryWriteBytes(bytes.AsSpan(at), rng.Next(2) == 0 ? int.MaxValue : rng.Next(1, 1 << 20));
                    break;
                }
                default:       // append
                    bytes = [.. bytes, .. new byte[rng.Next(1, 64)]];
                    break;
            }
            File.WriteAllBytes(p, bytes);
            try
            {
                using var c = Checkpoint.Open(p);
                long sum = 0;
                foreach (var t in c.Tensors.Values)
                    for (long off = 0; off < t.ByteLength; off += 1 << 20)
                        foreach (var b in t.GetBytes(off, (int)Math.Min(1 << 20, t.ByteLength - off))) sum += b;
                valid++;
            }
            catch (ModelSoupsException)
            {
                clean++;
            }
        }
        Assert.Equal(Iterations, clean + valid);
        Assert.True(clean > Iterations / 4, $"only {clean} mutations were rejected");
        Assert.True(valid > 0, "no mutation left a readable file: the mutations are not exercising the readers");
    }
}
