namespace ModelSoups.Onnx.Format;

/// <summary>Where a <c>TensorProto</c> keeps its values.</summary>
public enum OnnxTensorEncoding
{
    /// <summary>No values (an empty tensor).</summary>
    None,
    /// <summary><c>raw_data</c>: little-endian bytes of the element type; rewritable in place.</summary>
    Raw,
    /// <summary>Packed <c>float_data</c>: little-endian f32, laid out like raw data; rewritable in place.</summary>
    FloatData,
    /// <summary>Packed <c>double_data</c>: little-endian f64; rewritable in place.</summary>
    DoubleData,
    /// <summary><c>int32_data</c> varints (int32, int16, int8, uint8, bool, f16 and bf16 bit patterns).</summary>
    Int32Data,
    /// <summary><c>int64_data</c> varints.</summary>
    Int64Data,
    /// <summary>Values in an external file (<c>data_location = EXTERNAL</c>); not read by this toolkit.</summary>
    External,
}
