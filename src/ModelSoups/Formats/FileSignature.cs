using System.Buffers.Binary;

namespace ModelSoups.Formats;

/// <summary>What a file looks like from its first bytes.</summary>
public enum FileKind
{
    /// <summary>An 8-byte little-endian header length followed by a JSON object.</summary>
    Safetensors,
    /// <summary>A zip archive (<c>torch.save</c> since PyTorch 1.6 writes one).</summary>
    Zip,
    /// <summary>A Python pickle, protocol 2 or later (legacy <c>torch.save</c> starts with one).</summary>
    Pickle,
    /// <summary>llama.cpp's GGUF.</summary>
    Gguf,
    /// <summary>An ONNX model (protobuf starting with <c>ir_version</c>).</summary>
    Onnx,
    /// <summary>A tar archive (PyTorch 0.3 and older wrote these).</summary>
    Tar,
    /// <summary>None of the above.</summary>
    Unknown,
}

/// <summary>Guesses a file's format from its first bytes, so an error can say what a file is instead of misreading it.</summary>
public static class FileSignature
{
    /// <summary>Bytes of the file start <see cref="Detect(ReadOnlySpan{byte}, long)"/> looks at.</summary>
    public const int PrefixBytes = 512;

    /// <summary>
    /// Reads the start of <paramref name="path"/> and detects its kind; a file that cannot be read, or that is
    /// not a regular file (a FIFO would block the read forever), is <see cref="FileKind.Unknown"/>.
    /// </summary>
    public static FileKind Detect(string path)
    {
        if (Durability.Posix.Stat(path) is { IsRegularFile: false }) return FileKind.Unknown;
        try
        {
            using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = RandomAccess.GetLength(h);
            var buffer = new byte[(int)Math.Min(PrefixBytes, length)];
            int n = 0;
            while (n < buffer.Length)
            {
                int r = RandomAccess.Read(h, buffer.AsSpan(n), n);
                if (r == 0) break;
                n += r;
            }
            return Detect(buffer.AsSpan(0, n), length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return FileKind.Unknown;
        }
    }

    /// <summary>Detects the kind of a file of <paramref name="fileLength"/> bytes starting with <paramref name="start"/>.</summary>
    public static FileKind Detect(ReadOnlySpan<byte> start, long fileLength)
    {
        if (start.Length >= 4 && start[0] == 'P' && start[1] == 'K' && ((start[2] == 3 && start[3] == 4) || (start[2] == 5 && start[3] == 6)))
            return FileKind.Zip;
        if (start.Length >= 4 && start[..4].SequenceEqual("GGUF"u8)) return FileKind.Gguf;
        if (start.Length >= 262 && start.Slice(257, 5).SequenceEqual("ustar"u8)) return FileKind.Tar;
        if (start.Length >= 9)
        {
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(start);
            // The header is JSON: '{' possibly after spaces; its claimed length must fit in the file.
            int i = 8;
            while (i < start.Length && start[i] == ' ') i++;
            if (n >= 2 && n <= (ulong)Math.Max(0, fileLength - 8) && i < start.Length && start[i] == '{') return FileKind.Safetensors;
        }
        // After safetensors: a header length of 0x0280..0x05FF bytes starts like a protocol 2-5 pickle.
        if (start.Length >= 2 && start[0] == 0x80 && start[1] is >= 2 and <= 5) return FileKind.Pickle;
        // ONNX ModelProto: field 1 (ir_version, varint, 3..12 in practice) first, then a string/bytes field.
        if (start.Length >= 3 && start[0] == 0x08 && start[1] is >= 1 and <= 20 && (start[2] & 0x07) == 2) return FileKind.Onnx;
        return FileKind.Unknown;
    }

    /// <summary>How a message names the kind: "a safetensors file", "a GGUF file (llama.cpp)", ...</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Safetensors => "a safetensors file",
        FileKind.Zip => "a zip archive",
        FileKind.Pickle => "a Python pickle",
        FileKind.Gguf => "a GGUF file (llama.cpp)",
        FileKind.Onnx => "an ONNX model",
        FileKind.Tar => "a tar archive (PyTorch 0.3 or older saved these)",
        _ => "no format this tool knows",
    };
}
