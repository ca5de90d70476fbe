using System.Buffers.Binary;
using System.Text;

namespace ModelSoups.Onnx;

/// <summary>Writes protobuf wire format into a growing buffer (the counterpart of <see cref="OnnxProtoReader"/>).</summary>
internal sealed class OnnxProtoWriter
{
    private readonly MemoryStream _out = new();

    public long Length => _out.Length;

    public byte[] ToArray() => _out.ToArray();

    public OnnxProtoWriter Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _out.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _out.WriteByte((byte)value);
        return this;
    }

    public OnnxProtoWriter Key(int field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

    /// <summary>An int64/int32/enum field (negative values take 10 bytes, as protobuf specifies).</summary>
    public OnnxProtoWriter Int(int field, long value) => Key(field, OnnxProtoReader.Varint).Varint((ulong)value);

    public OnnxProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, OnnxProtoReader.LengthDelimited).Varint((ulong)value.Length);
        _out.Write(value);
        return this;
    }

    public OnnxProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public OnnxProtoWriter Message(int field, OnnxProtoWriter message) => Bytes(field, message.ToArray());

    public OnnxProtoWriter Float(int field, float value)
    {
        Key(field, OnnxProtoReader.Fixed32);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _out.Write(b);
        return this;
    }

    /// <summary>A packed repeated int64 field.</summary>
    public OnnxProtoWriter PackedInt64s(int field, IEnumerable<long> values)
    {
        var inner = new OnnxProtoWriter();
        foreach (var v in values) inner.Varint((ulong)v);
        return Message(field, inner);
    }

    /// <summary>Bytes copied verbatim (an already encoded field).</summary>
    public OnnxProtoWriter Raw(ReadOnlySpan<byte> encoded)
    {
        _out.Write(encoded);
        return this;
    }
}
