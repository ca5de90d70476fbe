using ModelSoups.Tensors;

namespace ModelSoups.Onnx;

/// <summary>ONNX <c>TensorProto.DataType</c> values (onnx/onnx.proto3).</summary>
internal enum OnnxDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7,
    String = 8, Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13,
    Complex64 = 14, Complex128 = 15, BFloat16 = 16,
}

/// <summary>Mapping between ONNX element types and <see cref="DType"/>.</summary>
internal static class OnnxDataTypes
{
    public static DType? ToDType(this OnnxDataType t) => t switch
    {
        OnnxDataType.Float => DType.F32,
        OnnxDataType.UInt8 => DType.U8,
        OnnxDataType.Int8 => DType.I8,
        OnnxDataType.Int16 => DType.I16,
        OnnxDataType.Int32 => DType.I32,
        OnnxDataType.Int64 => DType.I64,
        OnnxDataType.Bool => DType.Bool,
        OnnxDataType.Float16 => DType.F16,
        OnnxDataType.Double => DType.F64,
        OnnxDataType.BFloat16 => DType.BF16,
        _ => null,
    };
}
