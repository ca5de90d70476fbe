using System.Text;

namespace ModelSoups.Tests.Formats.PyTorch;

/// <summary>
/// Writes a small zip archive in zip64 form (APPNOTE.TXT 4.3.14-4.3.16, 4.5.3): every size and offset
/// in the headers is 0xFFFFFFFF and the real values sit in zip64 extra fields, and the end record is
/// a zip64 record with its locator — the form torch.save writes for checkpoints over 4 GiB, which a
/// test cannot afford to write. Entries are stored.
/// </summary>
static class Zip64Writer
{
    public static void Write(string path, IReadOnlyList<(string Name, byte[] Data)> entries)
    {
        using var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        var offsets = new List<long>();
        foreach (var (name, data) in entries)
        {
            offsets.Add(ms.Position);
            var n = Encoding.UTF8.GetBytes(name);
            w.Write(0x04034b50u); w.Write((ushort)45); w.Write((ushort)0); w.Write((ushort)0); w.Write(0u);   // sig, version, flags, method, time+date
            w.Write(0u); w.Write(0xFFFFFFFFu); w.Write(0xFFFFFFFFu);                                            // crc, sizes in the extra field
            w.Write((ushort)n.Length); w.Write((ushort)20); w.Write(n);
            w.Write((ushort)1); w.Write((ushort)16); w.Write((ulong)data.Length); w.Write((ulong)data.Length);
            w.Write(data);
        }
        long cdStart = ms.Position;
        for (int i = 0; i < entries.Count; i++)
        {
            var (name, data) = entries[i];
            var n = Encoding.UTF8.GetBytes(name);
            w.Write(0x02014b50u); w.Write((ushort)45); w.Write((ushort)45); w.Write((ushort)0); w.Write((ushort)0); w.Write(0u);
            w.Write(0u); w.Write(0xFFFFFFFFu); w.Write(0xFFFFFFFFu);
            w.Write((ushort)n.Length); w.Write((ushort)28); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0); w.Write(0u);
            w.Write(0xFFFFFFFFu); w.Write(n);
            w.Write((ushort)1); w.Write((ushort)24); w.Write((ulong)data.Length); w.Write((ulong)data.Length); w.Write((ulong)offsets[i]);
        }
        long cdSize = ms.Position - cdStart;
        long end64 = ms.Position;
        w.Write(0x06064b50u); w.Write(44UL); w.Write((ushort)45); w.Write((ushort)45); w.Write(0u); w.Write(0u);
        w.Write((ulong)entries.Count); w.Write((ulong)entries.Count); w.Write((ulong)cdSize); w.Write((ulong)cdStart);
        w.Write(0x07064b50u); w.Write(0u); w.Write((ulong)end64); w.Write(1u);
        w.Write(0x06054b50u); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0xFFFF); w.Write((ushort)0xFFFF);
        w.Write(0xFFFFFFFFu); w.Write(0xFFFFFFFFu); w.Write((ushort)0);
        w.Flush();
        File.WriteAllBytes(path, ms.ToArray());
    }
}
