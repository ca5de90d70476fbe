using System.Runtime.InteropServices;
using ModelSoups.Tensors;

namespace ModelSoups.Onnx;

/// <summary>
/// Widens checkpoint floats to f32 (exact for bf16, f16 and f32; f64 rounds to nearest).
/// Kept local so this package builds on its own; the core's DType conversions replace it when merged.
/// </summary>
internal static class FloatWidening
{
    public static bool CanWiden(DType t) => t is DType.F32 or DType.F16 or DType.BF16 or DType.F64;

    public static void ToF32(DType source, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        switch (source)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case DType.F16:
                var h = MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < h.Length; i++) destination[i] = (float)h[i];
                break;
            case DType.BF16:
                // bf16 is the top half of an f32: shifting it back is exact.
                var b = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < b.Length; i++) destination[i] = BitConverter.UInt32BitsToSingle((uint)b[i] << 16);
                break;
            case DType.F64:
                var d = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < d.Length; i++) destination[i] = (float)d[i];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(source), source, "not a widenable float type");
        }
    }
}
