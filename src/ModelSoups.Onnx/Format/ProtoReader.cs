namespace ModelSoups.Onnx.Format;

/// <summary>
/// The protobuf wire format, read-only and just enough for ONNX (protobuf.dev/programming-guides/encoding):
/// varints, 32/64-bit fixed fields and length-delimited fields. Positions are absolute offsets into the
/// file's bytes so tensor payloads can be located (and rewritten) in place. Every read is bounds-checked
/// against the enclosing message, so a corrupt length can never reach outside it.
/// </summary>
internal struct ProtoReader
{
    public const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2, WireFixed32 = 5;

    readonly byte[] _buffer;
    readonly int _end;
    readonly string? _path;
    int _pos;

    public ProtoReader(byte[] buffer, int start, int end, string? path)
    {
        _buffer = buffer; _pos = start; _end = end; _path = path;
    }

    public readonly bool AtEnd => _pos >= _end;
    public readonly int Position => _pos;

    /// <summary>Reads a tag; returns the field number and sets the wire type.</summary>
    public int ReadTag(out int wireType)
    {
        ulong tag = ReadVarint();
        wireType = (int)(tag & 7);
        ulong field = tag >> 3;
        if (field == 0 || field > int.MaxValue) throw Error($"invalid field number {field}");
        return (int)field;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _end) throw Error("a varint runs past the end of its message");
            byte b = _buffer[_pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw Error("a varint is longer than 10 bytes");
    }

    public long ReadInt64() => (long)ReadVarint();

    public int ReadInt32() => (int)(long)ReadVarint();

    public uint ReadFixed32()
    {
        Need(4);
        uint v = BitConverter.ToUInt32(_buffer, _pos);
        _pos += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        Need(8);
        ulong v = BitConverter.ToUInt64(_buffer, _pos);
        _pos += 8;
        return v;
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());

    /// <summary>Reads a length prefix and returns the [start, end) range of the payload, advancing past it.</summary>
    public (int Start, int End) ReadLengthDelimited()
    {
        ulong len = ReadVarint();
        if (len > (ulong)(_end - _pos)) throw Error($"a field of {len} bytes runs past the end of its message");
        int start = _pos;
        _pos += (int)len;
        return (start, _pos);
    }

    public string ReadString()
    {
        var (s, e) = ReadLengthDelimited();
        return System.Text.Encoding.UTF8.GetString(_buffer, s, e - s);
    }

    public ProtoReader ReadMessage()
    {
        var (s, e) = ReadLengthDelimited();
        return new ProtoReader(_buffer, s, e, _path);
    }

    /// <summary>Skips a field this reader does not need.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case WireVarint: ReadVarint(); break;
            case WireFixed64: Need(8); _pos += 8; break;
            case WireLengthDelimited: ReadLengthDelimited(); break;
            case WireFixed32: Need(4); _pos += 4; break;
            default: throw Error($"unsupported protobuf wire type {wireType}");
        }
    }

    /// <summary>Reads a repeated int64 field element, packed (wire type 2) or not (wire type 0).</summary>
    public void ReadInt64s(int wireType, List<long> into)
    {
        if (wireType == WireVarint) { into.Add(ReadInt64()); return; }
        Expect(wireType, WireLengthDelimited);
        var inner = ReadMessage();
        while (!inner.AtEnd) into.Add(inner.ReadInt64());
    }

    /// <summary>Reads a repeated float field element, packed (wire type 2) or not (wire type 5).</summary>
    public void ReadFloats(int wireType, List<float> into)
    {
        if (wireType == WireFixed32) { into.Add(ReadFloat()); return; }
        Expect(wireType, WireLengthDelimited);
        var inner = ReadMessage();
        while (!inner.AtEnd) into.Add(inner.ReadFloat());
    }

    public readonly void Expect(int wireType, int expected)
    {
        if (wireType != expected) throw Error($"wire type {wireType} where {expected} was expected");
    }

    readonly void Need(int n)
    {
        if (_end - _pos < n) throw Error("a fixed-size field runs past the end of its message");
    }

    public readonly OnnxFormatException Error(string what) =>
        new($"not a valid ONNX model (protobuf at byte {_pos}: {what})", _path);
}
