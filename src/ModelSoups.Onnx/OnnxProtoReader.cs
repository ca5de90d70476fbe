namespace ModelSoups.Onnx;

/// <summary>
/// Reads protobuf wire format (https://protobuf.dev/programming-guides/encoding/) from a byte range:
/// varint keys (field number &lt;&lt; 3 | wire type), then a varint, a fixed 32/64-bit value or a
/// length-prefixed payload. Just enough to walk ONNX messages; malformed input throws
/// <see cref="FormatException"/> (callers turn it into a user-facing error).
/// </summary>
internal ref struct OnnxProtoReader
{
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public OnnxProtoReader(ReadOnlySpan<byte> data) { _data = data; _pos = 0; }

    /// <summary>Offset of the next byte to read, relative to the span given.</summary>
    public readonly int Position => _pos;

    public readonly bool End => _pos >= _data.Length;

    /// <summary>Reads the next key; false at the end of the message.</summary>
    public bool Next(out int field, out int wireType)
    {
        if (_pos >= _data.Length) { field = 0; wireType = 0; return false; }
        ulong key = ReadVarint();
        field = checked((int)(key >> 3));
        wireType = (int)(key & 7);
        if (field == 0) throw new FormatException("protobuf field number 0");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length) throw new FormatException("truncated varint");
            byte b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new FormatException("varint longer than 10 bytes");
    }

    /// <summary>A length-delimited payload as (offset, length) within the span.</summary>
    public (int Offset, int Length) ReadLengthDelimited()
    {
        ulong len = ReadVarint();
        if (len > (ulong)(_data.Length - _pos)) throw new FormatException("length-delimited field runs past the end");
        int start = _pos;
        _pos += (int)len;
        return (start, (int)len);
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        var (o, l) = ReadLengthDelimited();
        return _data.Slice(o, l);
    }

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadBytes());

    public uint ReadFixed32()
    {
        if (_data.Length - _pos < 4) throw new FormatException("truncated fixed32");
        var v = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_data[_pos..]);
        _pos += 4;
        return v;
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case Fixed64:
                if (_data.Length - _pos < 8) throw new FormatException("truncated fixed64");
                _pos += 8; break;
            case LengthDelimited: ReadLengthDelimited(); break;
            case Fixed32:
                if (_data.Length - _pos < 4) throw new FormatException("truncated fixed32");
                _pos += 4; break;
            default: throw new FormatException($"unsupported protobuf wire type {wireType}");
        }
    }

    /// <summary>Reads a repeated int64 field's values, packed or not, into <paramref name="into"/>.</summary>
    public void ReadInt64s(int wireType, List<long> into)
    {
        if (wireType == Varint) { into.Add((long)ReadVarint()); return; }
        if (wireType != LengthDelimited) throw new FormatException("int64 field with a wrong wire type");
        var inner = new OnnxProtoReader(ReadBytes());
        while (!inner.End) into.Add((long)inner.ReadVarint());
    }
}
