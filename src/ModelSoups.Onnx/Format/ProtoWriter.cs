using System.Buffers.Binary;
using System.Text;

namespace ModelSoups.Onnx.Format;

/// <summary>
/// The protobuf wire format, write side (protobuf.dev/programming-guides/encoding), the counterpart of
/// <see cref="ProtoReader"/>: fields are appended to a growing buffer; a nested message is written by
/// building it in its own writer and appending it length-prefixed.
/// </summary>
internal sealed class ProtoWriter
{
    readonly MemoryStream _out = new();

    public byte[] ToArray() => _out.ToArray();

    public ProtoWriter Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _out.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _out.WriteByte((byte)value);
        return this;
    }

    public ProtoWriter Tag(int field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

    /// <summary>An int64/int32/enum field (negative values take 10 bytes, as protobuf specifies).</summary>
    public ProtoWriter Int(int field, long value) => Tag(field, ProtoReader.WireVarint).Varint((ulong)value);

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, ProtoReader.WireLengthDelimited).Varint((ulong)value.Length);
        _out.Write(value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, ProtoReader.WireFixed32);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _out.Write(b);
        return this;
    }

    /// <summary>A packed repeated int64 field.</summary>
    public ProtoWriter PackedInt64s(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values) inner.Varint((ulong)v);
        return Message(field, inner);
    }

    /// <summary>A packed repeated float field.</summary>
    public ProtoWriter PackedFloats(int field, IEnumerable<float> values)
    {
        var inner = new ProtoWriter();
        Span<byte> b = stackalloc byte[4];
        foreach (var v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            inner.Raw(b);
        }
        return Message(field, inner);
    }

    /// <summary>Bytes copied verbatim (already encoded fields).</summary>
    public ProtoWriter Raw(ReadOnlySpan<byte> encoded)
    {
        _out.Write(encoded);
        return this;
    }
}
