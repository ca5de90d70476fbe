using System.Runtime.InteropServices;

namespace ModelSoups.Onnx.Format;

/// <summary>
/// One ONNX <c>TensorProto</c> (an initializer or a tensor attribute). The values stay in the file's
/// buffer; <see cref="DataOffset"/> says where, so a writer can replace the weights without re-encoding
/// the model when the encoding is fixed-width (<see cref="IsRewritableInPlace"/>).
/// </summary>
public sealed class OnnxTensor
{
    readonly byte[] _file;
    readonly List<float>? _looseFloats;   // non-packed float_data, rare but legal protobuf

    internal OnnxTensor(byte[] file, string name, OnnxDataType dataType, long[] dims,
        OnnxTensorEncoding encoding, int dataOffset, int dataLength, List<float>? looseFloats,
        IReadOnlyDictionary<string, string> externalData)
    {
        _file = file; Name = name; DataType = dataType; Dims = dims;
        Encoding = encoding; DataOffset = dataOffset; DataLength = dataLength; _looseFloats = looseFloats;
        ExternalData = externalData;
    }

    public string Name { get; }
    public OnnxDataType DataType { get; }
    public long[] Dims { get; }
    public OnnxTensorEncoding Encoding { get; }

    /// <summary>Byte offset of the values in the file (the payload of raw_data / packed float_data ...); -1 when not contiguous.</summary>
    public int DataOffset { get; }

    /// <summary>Bytes of the encoded values at <see cref="DataOffset"/>.</summary>
    public int DataLength { get; }

    /// <summary>
    /// The <c>external_data</c> entries (keys <c>location</c>, <c>offset</c>, <c>length</c>, <c>checksum</c>)
    /// when <see cref="Encoding"/> is <see cref="OnnxTensorEncoding.External"/>; empty otherwise.
    /// </summary>
    public IReadOnlyDictionary<string, string> ExternalData { get; }

    /// <summary>The dims as text, e.g. "[2, 3]".</summary>
    public string DimsText => "[" + string.Join(", ", Dims) + "]";

    /// <summary>Product of <see cref="Dims"/> (1 for a scalar).</summary>
    public long ElementCount
    {
        get { long n = 1; foreach (var d in Dims) n = checked(n * d); return n; }
    }

    /// <summary>True when the values are little-endian fixed-width bytes at <see cref="DataOffset"/>.</summary>
    public bool IsRewritableInPlace =>
        DataOffset >= 0 && Encoding is OnnxTensorEncoding.Raw or OnnxTensorEncoding.FloatData or OnnxTensorEncoding.DoubleData;

    /// <summary>The stored bytes of fixed-width encodings (raw, float, double data), without copying.</summary>
    public ReadOnlySpan<byte> RawBytes => IsRewritableInPlace ? _file.AsSpan(DataOffset, DataLength) : throw NotFixedWidth();

    /// <summary>The values as f32; for float tensors only.</summary>
    public float[] ToFloatArray()
    {
        if (DataType != OnnxDataType.Float) throw new OnnxFormatException($"tensor '{Name}' is {DataType}, not Float");
        float[] values = Encoding switch
        {
            OnnxTensorEncoding.None => [],
            OnnxTensorEncoding.FloatData when _looseFloats is not null => _looseFloats.ToArray(),
            OnnxTensorEncoding.Raw or OnnxTensorEncoding.FloatData => MemoryMarshal.Cast<byte, float>(RawBytes).ToArray(),
            _ => throw new OnnxFormatException($"tensor '{Name}' stores Float values as {Encoding}"),
        };
        CheckCount(values.Length);
        return values;
    }

    /// <summary>The values as int64; for int64 tensors only.</summary>
    public long[] ToInt64Array()
    {
        if (DataType != OnnxDataType.Int64) throw new OnnxFormatException($"tensor '{Name}' is {DataType}, not Int64");
        long[] values;
        switch (Encoding)
        {
            case OnnxTensorEncoding.None: values = []; break;
            case OnnxTensorEncoding.Raw: values = MemoryMarshal.Cast<byte, long>(RawBytes).ToArray(); break;
            case OnnxTensorEncoding.Int64Data:
                var list = new List<long>();
                var r = new ProtoReader(_file, DataOffset, DataOffset + DataLength, null);
                while (!r.AtEnd) list.Add(r.ReadInt64());
                values = list.ToArray();
                break;
            default: throw new OnnxFormatException($"tensor '{Name}' stores Int64 values as {Encoding}");
        }
        CheckCount(values.Length);
        return values;
    }

    void CheckCount(int count)
    {
        if (count != ElementCount)
            throw new OnnxFormatException($"tensor '{Name}' has {count} values but its dims {DimsText} need {ElementCount}");
    }

    OnnxFormatException NotFixedWidth() => new($"tensor '{Name}' is stored as {Encoding}, not as fixed-width bytes");

    internal static OnnxTensor Parse(ProtoReader r, byte[] file)
    {
        var dims = new List<long>();
        string name = "";
        var dataType = OnnxDataType.Undefined;
        var encoding = OnnxTensorEncoding.None;
        int offset = -1, length = 0;
        List<float>? loose = null;
        bool external = false;
        var externalData = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!r.AtEnd)
        {
            int field = r.ReadTag(out int wire);
            switch (field)
            {
                case 1: r.ReadInt64s(wire, dims); break;
                case 2: r.Expect(wire, ProtoReader.WireVarint); dataType = (OnnxDataType)r.ReadInt32(); break;
                case 8: r.Expect(wire, ProtoReader.WireLengthDelimited); name = r.ReadString(); break;
                case 9: Payload(ref r, wire, OnnxTensorEncoding.Raw); break;
                case 4:
                    if (wire == ProtoReader.WireFixed32) { (loose ??= []).Add(r.ReadFloat()); encoding = OnnxTensorEncoding.FloatData; offset = -1; }
                    else Payload(ref r, wire, OnnxTensorEncoding.FloatData);
                    break;
                case 10: Payload(ref r, wire, OnnxTensorEncoding.DoubleData); break;
                case 5: Payload(ref r, wire, OnnxTensorEncoding.Int32Data); break;
                case 7: Payload(ref r, wire, OnnxTensorEncoding.Int64Data); break;
                case 13: r.Expect(wire, ProtoReader.WireLengthDelimited); ReadEntry(r.ReadMessage(), externalData); break;
                case 14: r.Expect(wire, ProtoReader.WireVarint); external = r.ReadInt32() == 1; break;
                default: r.Skip(wire); break;
            }
        }
        if (external) { encoding = OnnxTensorEncoding.External; offset = -1; length = 0; }
        else externalData.Clear();
        return new OnnxTensor(file, name, dataType, dims.ToArray(), encoding, offset, length, loose, externalData);

        void Payload(ref ProtoReader r, int wire, OnnxTensorEncoding enc)
        {
            if (wire != ProtoReader.WireLengthDelimited)
                throw r.Error($"tensor '{name}' stores {enc} unpacked, which this reader does not support");
            var (s, e) = r.ReadLengthDelimited();
            if (encoding != OnnxTensorEncoding.None && e > s)
                throw r.Error($"tensor '{name}' stores its values in two fields ({encoding} and {enc})");
            if (e > s) { encoding = enc; offset = s; length = e - s; }
        }
    }

    // StringStringEntryProto { key = 1; value = 2 }; a later entry with the same key wins, as in onnx's external_data_helper.
    static void ReadEntry(ProtoReader entry, Dictionary<string, string> into)
    {
        string key = "", value = "";
        while (!entry.AtEnd)
        {
            int f = entry.ReadTag(out int w);
            if (f == 1) { entry.Expect(w, ProtoReader.WireLengthDelimited); key = entry.ReadString(); }
            else if (f == 2) { entry.Expect(w, ProtoReader.WireLengthDelimited); value = entry.ReadString(); }
            else entry.Skip(w);
        }
        into[key] = value;
    }
}
