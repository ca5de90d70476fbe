namespace ModelSoups.Tensors;

/// <summary>
/// Element types the toolkit reads and writes. Names follow the safetensors format
/// (huggingface/safetensors, <c>Dtype</c>). F8 types are read-only (converted to f32).
/// </summary>
public enum DType
{
    Bool,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    I16,
    F16,
    BF16,
    I32,
    F32,
    F64,
    I64,
}

/// <summary>Facts about each <see cref="DType"/>: size, safetensors name, float-ness.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this DType t) => t switch
    {
        DType.Bool or DType.U8 or DType.I8 or DType.F8_E5M2 or DType.F8_E4M3 => 1,
        DType.I16 or DType.F16 or DType.BF16 => 2,
        DType.I32 or DType.F32 => 4,
        DType.I64 or DType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, null),
    };

    /// <summary>True for floating-point types: the ones merge methods average.</summary>
    public static bool IsFloat(this DType t) =>
        t is DType.F16 or DType.BF16 or DType.F32 or DType.F64 or DType.F8_E4M3 or DType.F8_E5M2;

    /// <summary>True where the toolkit can write this type (F8 is read-only).</summary>
    public static bool IsWritable(this DType t) => t is not (DType.F8_E4M3 or DType.F8_E5M2);

    /// <summary>The dtype a merged or averaged float tensor of this dtype is written in: this one, or f32 where this one cannot be written (F8).</summary>
    public static DType WritableOrF32(this DType t) => t.IsWritable() ? t : DType.F32;

    /// <summary>The safetensors header spelling, e.g. "BF16".</summary>
    public static string SafetensorsName(this DType t) => t switch
    {
        DType.Bool => "BOOL",
        _ => t.ToString(),
    };

    /// <summary>Parses a safetensors dtype name; false for names this toolkit does not support.</summary>
    public static bool TryParseSafetensorsName(string name, out DType type)
    {
        switch (name)
        {
            case "BOOL": type = DType.Bool; return true;
            case "U8": type = DType.U8; return true;
            case "I8": type = DType.I8; return true;
            case "F8_E5M2": type = DType.F8_E5M2; return true;
            case "F8_E4M3": type = DType.F8_E4M3; return true;
            case "I16": type = DType.I16; return true;
            case "F16": type = DType.F16; return true;
            case "BF16": type = DType.BF16; return true;
            case "I32": type = DType.I32; return true;
            case "F32": type = DType.F32; return true;
            case "F64": type = DType.F64; return true;
            case "I64": type = DType.I64; return true;
            default: type = default; return false;
        }
    }
}
