using System.Buffers.Binary;
using System.Text;
using ModelSoups.Tensors;

namespace ModelSoups.Formats.Safetensors;

/// <summary>
/// Where each tensor goes in a safetensors file we write, and the header bytes (length prefix +
/// JSON padded with spaces to a multiple of 8), exactly as the reference writer lays a file out.
/// </summary>
/// <remarks>
/// huggingface/safetensors <c>prepare()</c>: tensors sorted by dtype descending in the format's
/// enum order (which is increasing alignment: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, F16, BF16, I32,
/// F32, F64, I64 — the order of our <see cref="DType"/>), then by name (Rust string order, i.e.
/// UTF-8 bytes); offsets packed from 0; <c>__metadata__</c> serialised first; header padded with
/// b' ' to a multiple of 8 so data starts 8-aligned.
/// </remarks>
public sealed class SafetensorsLayout
{
    /// <summary>Tensors in file order with their data offsets.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The 8-byte length prefix followed by the padded JSON header.</summary>
    public byte[] HeaderBytes { get; }

    /// <summary>Bytes of tensor data (sum of tensor sizes).</summary>
    public long DataLength { get; }

    /// <summary>Total file length: header bytes + data.</summary>
    public long FileLength => HeaderBytes.Length + DataLength;

    SafetensorsLayout(List<SafetensorsEntry> entries, byte[] header, long dataLength)
    {
        Entries = entries;
        HeaderBytes = header;
        DataLength = dataLength;
    }

    /// <summary>The entry for a tensor name, or null.</summary>
    public SafetensorsEntry? Find(string name) => Entries.FirstOrDefault(e => e.Name == name);

    /// <summary>Lays out <paramref name="tensors"/> as the reference writer would.</summary>
    /// <exception cref="ArgumentException">Duplicate names, or the reserved name <c>__metadata__</c>.</exception>
    /// <exception cref="ModelSoupsException">An F8 tensor (not writable) or a header over the size limit.</exception>
    public static SafetensorsLayout Plan(IEnumerable<TensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var list = tensors.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in list)
        {
            if (t.Name == SafetensorsHeader.MetadataKey) throw new ArgumentException($"'{SafetensorsHeader.MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
            if (!seen.Add(t.Name)) throw new ArgumentException($"tensor '{t.Name}' is given twice.", nameof(tensors));
            if (!t.DType.IsWritable()) throw new ModelSoupsException($"tensor '{t.Name}' is {t.DType.SafetensorsName()}; {t.DType.SafetensorsName()} cannot be written (convert it first).");
        }
        list.Sort((a, b) => a.DType != b.DType ? ((int)b.DType).CompareTo((int)a.DType) : Utf8Order.Compare(a.Name, b.Name));

        var entries = new List<SafetensorsEntry>(list.Count);
        long offset = 0;
        foreach (var t in list)
        {
            long n = t.ByteLength;
            entries.Add(new SafetensorsEntry(t, offset, checked(offset + n)));
            offset += n;
        }

        var json = new StringBuilder("{");
        bool first = true;
        if (metadata is not null)
        {
            json.Append('"').Append(SafetensorsHeader.MetadataKey).Append("\":{");
            bool firstKey = true;
            foreach (var (k, v) in metadata.OrderBy(p => p.Key, Utf8Order.Instance))
            {
                if (!firstKey) json.Append(',');
                firstKey = false;
                JsonString(json, k);
                json.Append(':');
                JsonString(json, v);
            }
            json.Append('}');
            first = false;
        }
        foreach (var e in entries)
        {
            if (!first) json.Append(',');
            first = false;
            JsonString(json, e.Name);
            json.Append(":{\"dtype\":\"").Append(e.Info.DType.SafetensorsName()).Append("\",\"shape\":[")
                .AppendJoin(',', e.Info.Shape).Append("],\"data_offsets\":[").Append(e.Begin).Append(',').Append(e.End).Append("]}");
        }
        json.Append('}');

        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        int jsonBytes = strict.GetByteCount(json.ToString());
        int padded = (jsonBytes + 7) / 8 * 8;
        if (padded > SafetensorsHeader.MaxHeaderBytes)
            throw new ModelSoupsException($"the header of this file would be {padded} bytes, over the safetensors limit of {SafetensorsHeader.MaxHeaderBytes}; use smaller shards.");
        var header = new byte[SafetensorsHeader.LengthPrefixBytes + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        strict.GetBytes(json.ToString(), header.AsSpan(SafetensorsHeader.LengthPrefixBytes));
        header.AsSpan(SafetensorsHeader.LengthPrefixBytes + jsonBytes).Fill((byte)' ');
        return new SafetensorsLayout(entries, header, offset);
    }

    // serde_json's compact string escaping: ", \, the short escapes, other controls as \u00xx (lower-case hex);
    // everything else, non-ASCII included, verbatim.
    static void JsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u00").Append(((int)c).ToString("x2"));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
