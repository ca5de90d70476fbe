using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace ModelSoups.Tensors;

/// <summary>
/// Converts raw little-endian tensor bytes of any float <see cref="DType"/> to the compute type
/// (f32 or f64) and back. Allocation-free. Narrowing rounds to nearest-even like PyTorch's
/// <c>.to()</c>; f64 → bf16/f16 goes through f32 exactly as PyTorch does (c10 constructs
/// BFloat16/Half from float). Integer and bool tensors are not converted: the engine copies them.
/// </summary>
public static class DTypeConversion
{
    // Chunk for conversions that pass through an f32 stack buffer (f64 ↔ 16-bit types): 16 KiB.
    const int Chunk = 4096;

    /// <summary>Decodes <paramref name="bytes"/> (little-endian <paramref name="src"/>) into f32.</summary>
    /// <exception cref="ArgumentException">A non-float dtype, or byte length ≠ dst.Length × size.</exception>
    public static void ToSingle(DType src, ReadOnlySpan<byte> bytes, Span<float> dst)
    {
        CheckLengths(src, bytes.Length, dst.Length, readOnlyOk: true);
        switch (src)
        {
            case DType.F32: bytes.CopyTo(MemoryMarshal.AsBytes(dst)); break;
            case DType.BF16: BFloat16Kernels.ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), dst); break;
            case DType.F16: TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), dst); break;
            case DType.F64: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, double>(bytes), dst); break;
            case DType.F8_E4M3: Float8Decoding.E4M3ToSingle(bytes, dst); break;
            case DType.F8_E5M2: Float8Decoding.E5M2ToSingle(bytes, dst); break;
        }
    }

    /// <summary>Encodes f32 values as <paramref name="dst"/> (F64, F32, F16 or BF16) little-endian bytes.</summary>
    /// <exception cref="ArgumentException">A non-writable dtype, or byte length ≠ src.Length × size.</exception>
    public static void FromSingle(ReadOnlySpan<float> src, DType dst, Span<byte> bytes)
    {
        CheckLengths(dst, bytes.Length, src.Length, readOnlyOk: false);
        switch (dst)
        {
            case DType.F32: MemoryMarshal.AsBytes(src).CopyTo(bytes); break;
            case DType.BF16: BFloat16Kernels.FromSingle(src, MemoryMarshal.Cast<byte, ushort>(bytes)); break;
            case DType.F16: TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<byte, Half>(bytes)); break;
            case DType.F64: TensorPrimitives.ConvertTruncating(src, MemoryMarshal.Cast<byte, double>(bytes)); break;
        }
    }

    /// <summary>Decodes <paramref name="bytes"/> (little-endian <paramref name="src"/>) into f64 (exact for every source type).</summary>
    public static void ToDouble(DType src, ReadOnlySpan<byte> bytes, Span<double> dst)
    {
        CheckLengths(src, bytes.Length, dst.Length, readOnlyOk: true);
        switch (src)
        {
            case DType.F64: bytes.CopyTo(MemoryMarshal.AsBytes(dst)); break;
            case DType.F32: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, float>(bytes), dst); break;
            default:
                // Every narrower type is exactly representable in f32, so f32 is a lossless stop.
                Span<float> tmp = stackalloc float[Chunk];
                int size = src.Size();
                for (int i = 0; i < dst.Length; i += Chunk)
                {
                    int n = Math.Min(Chunk, dst.Length - i);
                    ToSingle(src, bytes.Slice(i * size, n * size), tmp[..n]);
                    TensorPrimitives.ConvertTruncating<float, double>(tmp[..n], dst.Slice(i, n));
                }
                break;
        }
    }

    /// <summary>Encodes f64 values as <paramref name="dst"/> bytes. F32 rounds once (RNE); BF16/F16 go through f32 like PyTorch.</summary>
    public static void FromDouble(ReadOnlySpan<double> src, DType dst, Span<byte> bytes)
    {
        CheckLengths(dst, bytes.Length, src.Length, readOnlyOk: false);
        switch (dst)
        {
            case DType.F64: MemoryMarshal.AsBytes(src).CopyTo(bytes); break;
            case DType.F32: TensorPrimitives.ConvertTruncating(src, MemoryMarshal.Cast<byte, float>(bytes)); break;
            default:
                Span<float> tmp = stackalloc float[Chunk];
                int size = dst.Size();
                for (int i = 0; i < src.Length; i += Chunk)
                {
                    int n = Math.Min(Chunk, src.Length - i);
                    TensorPrimitives.ConvertTruncating(src.Slice(i, n), tmp[..n]);
                    FromSingle(tmp[..n], dst, bytes.Slice(i * size, n * size));
                }
                break;
        }
    }

    /// <summary>Generic front door for compute type T (float or double).</summary>
    public static void ToCompute<T>(DType src, ReadOnlySpan<byte> bytes, Span<T> dst) where T : struct
    {
        if (typeof(T) == typeof(float)) ToSingle(src, bytes, MemoryMarshal.Cast<T, float>(dst));
        else if (typeof(T) == typeof(double)) ToDouble(src, bytes, MemoryMarshal.Cast<T, double>(dst));
        else throw new NotSupportedException($"Compute type {typeof(T).Name} is not supported; use float or double.");
    }

    /// <summary>Generic back door for compute type T (float or double).</summary>
    public static void FromCompute<T>(ReadOnlySpan<T> src, DType dst, Span<byte> bytes) where T : struct
    {
        if (typeof(T) == typeof(float)) FromSingle(MemoryMarshal.Cast<T, float>(src), dst, bytes);
        else if (typeof(T) == typeof(double)) FromDouble(MemoryMarshal.Cast<T, double>(src), dst, bytes);
        else throw new NotSupportedException($"Compute type {typeof(T).Name} is not supported; use float or double.");
    }

    static void CheckLengths(DType t, int byteLength, int count, bool readOnlyOk)
    {
        if (!t.IsFloat()) throw new ArgumentException($"{t} is not a float type; integer tensors are copied, not converted.", nameof(t));
        if (!readOnlyOk && !t.IsWritable()) throw new ArgumentException($"{t} cannot be written.", nameof(t));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Tensor conversion assumes a little-endian machine.");
        if ((long)count * t.Size() != byteLength)
            throw new ArgumentException($"{byteLength} bytes do not hold {count} {t} values.");
    }
}
