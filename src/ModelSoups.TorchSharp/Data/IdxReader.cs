using System.IO.Compression;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// Reads IDX files (yann.lecun.com/exdb/mnist: magic 0x00 0x00, type byte, rank byte, big-endian int32
/// dimensions, then the data), gzipped or not. Only the unsigned-byte type (0x08) used by MNIST and
/// Fashion-MNIST is accepted. Everything is validated before use: each rule has its own message.
/// </summary>
public static class IdxReader
{
    /// <summary>IDX type code of unsigned bytes.</summary>
    public const byte UnsignedByte = 0x08;
    /// <summary>Largest rank accepted (images are rank 3, labels rank 1).</summary>
    public const int MaxRank = 4;
    /// <summary>Largest payload accepted (one .NET array).</summary>
    public const long MaxBytes = int.MaxValue;

    /// <summary>Reads and validates the file; throws <see cref="ModelSoupsException"/> naming the file when it is malformed.</summary>
    public static IdxArray Read(string path)
    {
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelSoupsException($"cannot read the IDX file: {e.Message}", path);
        }
        return Parse(raw, path);
    }

    /// <summary>Parses IDX bytes (gzip is detected by its magic 1F 8B).</summary>
    public static IdxArray Parse(byte[] bytes, string? path = null)
    {
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = Gunzip(bytes, path);
        if (bytes.Length < 4) throw new ModelSoupsException($"not an IDX file: {bytes.Length} bytes is shorter than the 4-byte magic", path);
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new ModelSoupsException($"not an IDX file: the magic starts {bytes[0]:X2} {bytes[1]:X2}, not 00 00", path);
        if (bytes[2] != UnsignedByte)
            throw new ModelSoupsException($"IDX element type 0x{bytes[2]:X2} is not supported (only unsigned bytes, 0x08)", path);
        int rank = bytes[3];
        if (rank is < 1 or > MaxRank) throw new ModelSoupsException($"IDX rank {rank} is outside 1..{MaxRank}", path);
        int header = 4 + 4 * rank;
        if (bytes.Length < header) throw new ModelSoupsException($"the IDX header is truncated: {rank} dimensions need {header} bytes, the file has {bytes.Length}", path);
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            int d = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (d < 0) throw new ModelSoupsException($"IDX dimension {i} is negative ({d})", path);
            dims[i] = d;
            count *= d;
            if (count > MaxBytes) throw new ModelSoupsException($"the IDX dimensions describe more than {MaxBytes} bytes", path);
        }
        long actual = bytes.Length - header;
        if (actual != count)
            throw new ModelSoupsException(
                $"the IDX data has {actual} bytes but its dimensions [{string.Join(", ", dims)}] need {count}" + (actual < count ? " (truncated)" : " (trailing bytes)"), path);
        return new IdxArray(dims, bytes.AsSpan(header).ToArray());
    }

    static byte[] Gunzip(byte[] bytes, string? path)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new ModelSoupsException($"the gzip stream is corrupt: {e.Message}", path);
        }
    }
}
