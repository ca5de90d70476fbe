using ModelSoups.Tensors;

namespace ModelSoups.Recipes;

/// <summary>
/// The one parser of dtype names as people write them — in recipes (mergekit/PyTorch spellings: "float32",
/// "bfloat16", "float16", "float64"), on the command line, and as safetensors names ("BF16") — and the one
/// spelling the toolkit writes back. Safetensors headers use <see cref="DTypes.TryParseSafetensorsName"/>.
/// </summary>
public static class DTypeNames
{
    /// <summary>The dtypes a merge can write, as an error message lists them.</summary>
    public const string OutputChoices = "float32, float64, bfloat16, float16";

    /// <summary>Any dtype name: the mergekit/PyTorch names, their short forms, or a safetensors name (case-insensitive).</summary>
    public static bool TryParse(string name, out DType type)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "float32" or "f32" or "fp32" or "float": type = DType.F32; return true;
            case "bfloat16" or "bf16": type = DType.BF16; return true;
            case "float16" or "f16" or "fp16" or "half": type = DType.F16; return true;
            case "float64" or "f64" or "fp64" or "double": type = DType.F64; return true;
            default: return DTypes.TryParseSafetensorsName(name.Trim().ToUpperInvariant(), out type);
        }
    }

    /// <summary>A dtype a merge can write its output in (<see cref="OutputChoices"/>).</summary>
    public static bool TryParseOutput(string name, out DType type) =>
        TryParse(name, out type) && type is DType.F32 or DType.F64 or DType.BF16 or DType.F16;

    /// <summary>A dtype a merge can compute in: float32 or float64.</summary>
    public static bool TryParseCompute(string name, out DType type) =>
        TryParse(name, out type) && type is DType.F32 or DType.F64;

    /// <summary>The name recipes use ("bfloat16"), else the safetensors name.</summary>
    public static string RecipeName(DType type) => type switch
    {
        DType.F32 => "float32",
        DType.F64 => "float64",
        DType.BF16 => "bfloat16",
        DType.F16 => "float16",
        _ => type.SafetensorsName(),
    };
}
