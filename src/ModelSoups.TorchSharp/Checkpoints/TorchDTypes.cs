using ModelSoups.Tensors;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Checkpoints;

/// <summary>Maps TorchSharp element types to the toolkit's <see cref="DType"/> and back.</summary>
public static class TorchDTypes
{
    /// <summary>The checkpoint dtype of a TorchSharp scalar type; throws for types checkpoints do not hold (complex).</summary>
    public static DType ToDType(this ScalarType t) => t switch
    {
        ScalarType.Float32 => DType.F32,
        ScalarType.BFloat16 => DType.BF16,
        ScalarType.Float16 => DType.F16,
        ScalarType.Float64 => DType.F64,
        ScalarType.Int64 => DType.I64,
        ScalarType.Int32 => DType.I32,
        ScalarType.Int16 => DType.I16,
        ScalarType.Int8 => DType.I8,
        ScalarType.Byte => DType.U8,
        ScalarType.Bool => DType.Bool,
        _ => throw new NotSupportedException($"TorchSharp type {t} has no checkpoint dtype"),
    };

    /// <summary>The TorchSharp scalar type of a checkpoint dtype; false for F8 types (no TorchSharp equivalent here).</summary>
    public static bool TryToScalarType(this DType t, out ScalarType scalar)
    {
        switch (t)
        {
            case DType.F32: scalar = ScalarType.Float32; return true;
            case DType.BF16: scalar = ScalarType.BFloat16; return true;
            case DType.F16: scalar = ScalarType.Float16; return true;
            case DType.F64: scalar = ScalarType.Float64; return true;
            case DType.I64: scalar = ScalarType.Int64; return true;
            case DType.I32: scalar = ScalarType.Int32; return true;
            case DType.I16: scalar = ScalarType.Int16; return true;
            case DType.I8: scalar = ScalarType.Int8; return true;
            case DType.U8: scalar = ScalarType.Byte; return true;
            case DType.Bool: scalar = ScalarType.Bool; return true;
            default: scalar = default; return false;
        }
    }
}
