using ModelSoups.Tensors;

namespace ModelSoups.Onnx.Format;

/// <summary>ONNX <c>TensorProto.DataType</c> values (onnx/onnx.proto).</summary>
public enum OnnxDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7,
    String = 8, Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13,
    Complex64 = 14, Complex128 = 15, BFloat16 = 16,
}

/// <summary>Maps ONNX element types to the toolkit's <see cref="DType"/>.</summary>
public static class OnnxDataTypes
{
    /// <summary>The matching <see cref="DType"/>; false for types the toolkit does not hold (strings, complex, unsigned wider than 8 bits).</summary>
    public static bool TryToDType(this OnnxDataType t, out DType dtype)
    {
        switch (t)
        {
            case OnnxDataType.Float: dtype = DType.F32; return true;
            case OnnxDataType.Double: dtype = DType.F64; return true;
            case OnnxDataType.Float16: dtype = DType.F16; return true;
            case OnnxDataType.BFloat16: dtype = DType.BF16; return true;
            case OnnxDataType.Int64: dtype = DType.I64; return true;
            case OnnxDataType.Int32: dtype = DType.I32; return true;
            case OnnxDataType.Int16: dtype = DType.I16; return true;
            case OnnxDataType.Int8: dtype = DType.I8; return true;
            case OnnxDataType.UInt8: dtype = DType.U8; return true;
            case OnnxDataType.Bool: dtype = DType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>Bytes per element in raw data; 0 for types without a fixed size (strings, undefined).</summary>
    public static int ElementSize(this OnnxDataType t) => t switch
    {
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool => 1,
        OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.Int64 or OnnxDataType.Double or OnnxDataType.UInt64 or OnnxDataType.Complex64 => 8,
        OnnxDataType.Complex128 => 16,
        _ => 0,
    };
}
