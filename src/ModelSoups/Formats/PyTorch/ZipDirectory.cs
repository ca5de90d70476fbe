using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ModelSoups.Formats.PyTorch;

/// <summary>One file inside a zip archive, located exactly: where its bytes start in the archive file.</summary>
/// <param name="Name">The entry name (forward slashes).</param>
/// <param name="Method">0 stored, 8 deflated.</param>
/// <param name="DataOffset">Offset of the entry's (possibly compressed) bytes in the archive file.</param>
/// <param name="CompressedSize">Bytes in the archive.</param>
/// <param name="Size">Bytes once inflated (equal to <paramref name="CompressedSize"/> when stored).</param>
internal sealed record ZipEntry(string Name, int Method, long DataOffset, long CompressedSize, long Size)
{
    public bool IsStored => Method == 0;
}

/// <summary>
/// The central directory of a zip archive, parsed and validated by hand (APPNOTE.TXT 6.3): the
/// end-of-central-directory record (and the zip64 one when fields overflow), every central header,
/// and each entry's local header — because memory-mapping a stored entry needs the exact offset
/// of its data, which <see cref="ZipArchive"/> does not expose. Every size and offset is checked
/// against the file before it is used; names must be unique, relative and free of "..".
/// </summary>
internal static class ZipDirectory
{
    const uint LocalSig = 0x04034b50, CentralSig = 0x02014b50, EndSig = 0x06054b50, End64Sig = 0x06064b50, End64LocatorSig = 0x07064b50;
    const int EndBytes = 22, CentralBytes = 46, LocalBytes = 30;

    /// <summary>Most entries accepted (a checkpoint has one per storage, plus a few records).</summary>
    public const int MaxEntries = 1_000_000;

    public static Dictionary<string, ZipEntry> Read(FileMapping file)
    {
        string path = file.Path;
        long length = file.Length;
        PyTorchFormatException Truncated(string what) => new(PyTorchErrorKind.TruncatedZip, $"the zip archive is truncated or damaged: {what}.", path);
        PyTorchFormatException Invalid(string what) => new(PyTorchErrorKind.InvalidZip, $"the zip archive is invalid: {what}.", path);

        if (length < EndBytes) throw Truncated($"{length} bytes is shorter than the end-of-central-directory record");
        // The end record is the last 22 bytes plus a comment of at most 64 KiB: scan back for its signature.
        // Bytes after the comment are tolerated (as unzip and Python's zipfile tolerate them): offsets are absolute.
        long end = -1;
        long lowest = Math.Max(0, length - EndBytes - ushort.MaxValue - 1024);
        var tail = file.Slice(lowest, (int)(length - lowest));
        for (int i = tail.Length - EndBytes; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail[i..]) == EndSig && i + EndBytes + BinaryPrimitives.ReadUInt16LittleEndian(tail[(i + 20)..]) <= tail.Length)
            {
                end = lowest + i;
                break;
            }
        if (end < 0) throw Truncated("no end-of-central-directory record (the file was probably cut short)");

        var e = file.Slice(end, EndBytes);
        ushort disk = U16(e, 4), cdDisk = U16(e, 6);
        long entriesOnDisk = U16(e, 8), entries = U16(e, 10);
        long cdSize = U32(e, 12), cdOffset = U32(e, 16);
        long cdLimit = end;
        if (entries == 0xFFFF || entriesOnDisk == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF)
        {
            if (end < 20) throw Truncated("a zip64 archive without its zip64 locator");
            var loc = file.Slice(end - 20, 20);
            if (U32(loc, 0) != End64LocatorSig) throw Invalid("fields overflow but there is no zip64 locator");
            long end64 = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(loc[8..]));
            if (end64 < 0 || end64 > end - 20 - 56) throw Truncated("the zip64 end record lies outside the file");
            var r = file.Slice(end64, 56);
            if (U32(r, 0) != End64Sig) throw Invalid("bad zip64 end-of-central-directory signature");
            disk = (ushort)Math.Min(U32(r, 16), ushort.MaxValue);
            cdDisk = (ushort)Math.Min(U32(r, 20), ushort.MaxValue);
            entriesOnDisk = U64(r, 24, Invalid);
            entries = U64(r, 32, Invalid);
            cdSize = U64(r, 40, Invalid);
            cdOffset = U64(r, 48, Invalid);
            cdLimit = end64;
        }
        if (disk != 0 || cdDisk != 0 || entriesOnDisk != entries) throw Invalid("multi-disk archives are not supported");
        if (entries > MaxEntries) throw Invalid($"{entries} entries, more than the limit of {MaxEntries}");
        if (cdOffset > cdLimit || cdSize > cdLimit - cdOffset) throw Truncated("the central directory lies outside the file");
        if (entries * CentralBytes > cdSize) throw Invalid($"{entries} entries do not fit in a {cdSize}-byte central directory");

        var result = new Dictionary<string, ZipEntry>((int)entries, StringComparer.Ordinal);
        long p = cdOffset;
        long cdEnd = cdOffset + cdSize;
        for (long i = 0; i < entries; i++)
        {
            if (cdEnd - p < CentralBytes) throw Invalid("the central directory ends inside an entry");
            var h = file.Slice(p, CentralBytes);
            if (U32(h, 0) != CentralSig) throw Invalid($"bad central header signature at byte {p}");
            ushort flags = U16(h, 8), method = U16(h, 10);
            long csize = U32(h, 20), usize = U32(h, 24);
            int nameLen = U16(h, 28), extraLen = U16(h, 30), commentLen = U16(h, 32);
            long localOffset = U32(h, 42);
            if (cdEnd - p - CentralBytes < nameLen + extraLen + commentLen) throw Invalid("the central directory ends inside an entry name");
            string name = EntryName(file.Slice(p + CentralBytes, nameLen), Invalid);
            var extra = file.Slice(p + CentralBytes + nameLen, extraLen);
            if (usize == 0xFFFFFFFF || csize == 0xFFFFFFFF || localOffset == 0xFFFFFFFF)
                ApplyZip64Extra(extra, ref usize, ref csize, ref localOffset, name, Invalid);
            p += CentralBytes + nameLen + extraLen + commentLen;

            if ((flags & 1) != 0) throw Invalid($"entry '{name}' is encrypted");
            if (method is not (0 or 8)) throw Invalid($"entry '{name}' uses compression method {method}; only stored and deflate are read");
            if (method == 0 && csize != usize) throw Invalid($"stored entry '{name}' has compressed size {csize} but size {usize}");

            // The local header repeats the name; its extra field (torch.save pads it to align data to 64 bytes) may differ.
            if (localOffset > cdOffset - LocalBytes || localOffset < 0) throw Truncated($"entry '{name}' starts outside the file");
            var l = file.Slice(localOffset, LocalBytes);
            if (U32(l, 0) != LocalSig) throw Invalid($"bad local header signature for entry '{name}'");
            int localNameLen = U16(l, 26), localExtraLen = U16(l, 28);
            long dataOffset = localOffset + LocalBytes + localNameLen + localExtraLen;
            if (dataOffset > cdOffset || csize > cdOffset - dataOffset) throw Truncated($"entry '{name}' runs past the start of the central directory");
            if (!file.Slice(localOffset + LocalBytes, localNameLen).SequenceEqual(Encoding.UTF8.GetBytes(name)))
                throw Invalid($"the local header of entry '{name}' names a different file");
            if (!result.TryAdd(name, new ZipEntry(name, method, dataOffset, csize, usize)))
                throw Invalid($"entry '{name}' appears twice");
        }
        return result;
    }

    /// <summary>Inflates a deflated entry, refusing one whose data does not inflate to exactly its declared size.</summary>
    public static byte[] Inflate(FileMapping file, ZipEntry entry)
    {
        if (entry.Size > Array.MaxLength)
            throw new PyTorchFormatException(PyTorchErrorKind.InvalidZip, $"compressed entry '{entry.Name}' inflates to {entry.Size} bytes, more than this reader inflates in memory; re-save it uncompressed (torch.save does).", file.Path);
        var output = new byte[entry.Size];
        unsafe
        {
            var src = file.Slice(entry.DataOffset, checked((int)Math.Min(entry.CompressedSize, int.MaxValue)));
            fixed (byte* s = src)
            {
                using var raw = new UnmanagedMemoryStream(s, src.Length);
                using var inflate = new DeflateStream(raw, CompressionMode.Decompress);
                int done = 0;
                try
                {
                    while (done < output.Length)
                    {
                        int n = inflate.Read(output, done, output.Length - done);
                        if (n == 0) break;
                        done += n;
                    }
                    if (done != output.Length || inflate.Read(new byte[1], 0, 1) != 0)
                        throw new PyTorchFormatException(PyTorchErrorKind.InvalidZip, $"entry '{entry.Name}' does not inflate to its declared {entry.Size} bytes.", file.Path);
                }
                catch (InvalidDataException e)
                {
                    throw new PyTorchFormatException(PyTorchErrorKind.InvalidZip, $"entry '{entry.Name}' is not valid deflate data.", file.Path, e);
                }
            }
        }
        return output;
    }

    static void ApplyZip64Extra(ReadOnlySpan<byte> extra, ref long usize, ref long csize, ref long offset, string name, Func<string, PyTorchFormatException> invalid)
    {
        while (extra.Length >= 4)
        {
            int id = U16(extra, 0), size = U16(extra, 2);
            if (size > extra.Length - 4) break;
            if (id == 1)
            {
                var f = extra.Slice(4, size);
                int at = 0;
                if (usize == 0xFFFFFFFF) usize = Next(f, ref at, name, invalid);
                if (csize == 0xFFFFFFFF) csize = Next(f, ref at, name, invalid);
                if (offset == 0xFFFFFFFF) offset = Next(f, ref at, name, invalid);
                return;
            }
            extra = extra[(4 + size)..];
        }
        throw invalid($"entry '{name}' needs a zip64 extra field and has none");
    }

    static long Next(ReadOnlySpan<byte> f, ref int at, string name, Func<string, PyTorchFormatException> invalid)
    {
        if (at + 8 > f.Length) throw invalid($"entry '{name}' has a short zip64 extra field");
        long v = U64(f, at, invalid);
        at += 8;
        return v;
    }

    static string EntryName(ReadOnlySpan<byte> raw, Func<string, PyTorchFormatException> invalid)
    {
        string name;
        try { name = new UTF8Encoding(false, true).GetString(raw); }
        catch (DecoderFallbackException) { throw invalid("an entry name is not valid UTF-8"); }
        if (name.Length == 0 || name.Contains('\0') || name.Contains('\\') || name.StartsWith('/') || name.Split('/').Contains(".."))
            throw invalid($"entry name '{name.Replace("\0", "\\0")}' is empty, absolute or escapes the archive");
        return name;
    }

    static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);
    static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    static long U64(ReadOnlySpan<byte> b, int at, Func<string, PyTorchFormatException> invalid)
    {
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
        return v <= long.MaxValue ? (long)v : throw invalid("a zip64 size or offset does not fit in 63 bits");
    }
}
