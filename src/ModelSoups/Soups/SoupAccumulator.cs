using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;
using ModelSoups.Tensors.Kernels;

namespace ModelSoups.Soups;

/// <summary>
/// The one weighted mean of the project: θ = Σ wᵢ θᵢ / d, kept as a running sum in an accumulation dtype
/// and rounded once at the end. <c>soup merge --method linear</c>, the streaming and in-memory greedy soup
/// builders (so the demo's and the sparse demo's soups) and the TorchSharp module soups all average through
/// it, so a soup built anywhere equals <c>soup merge --method linear</c> of the same ingredients, in the same
/// order, bit for bit.
/// <para>
/// Each input is first brought to the compute dtype (f32 unless the recipe says f64: an f64 checkpoint
/// merged in f32 is rounded to f32 first, as every other method sees it), multiplied by its weight and added
/// in model order; the sum is divided by d, rounded to the compute dtype, then to the output dtype.
/// Each element depends only on its own inputs, so blocks and threads cannot change a bit.
/// </para>
/// <para>
/// The accumulation (<see cref="Accumulation.For"/>) is f32 when every input and the output are 16-bit (or
/// 8-bit) floats, the weights are equal (a uniform soup) and Σ|wᵢ| ≤ 2¹³, else f64. Why that keeps the guarantees: a 16-bit float has at most 11
/// significant bits (bf16: 8) and its lowest bit is at least 2⁻¹³³, so k ≤ 2¹³ identical inputs sum exactly in
/// f32's 24 bits and the division by k gives the input back exactly (a uniform soup of identical models is
/// the model, bit for bit); for different inputs the f32 sum's error is at most k·2⁻²⁴ of the mean magnitude
/// Σ|wᵢθᵢ|/d, far below an output ulp (2⁻⁸ for bf16, 2⁻¹¹ for f16) whenever the inputs agree in sign and
/// rough size — as the ingredients of a soup, fine-tuned from one start, do. Inputs that cancel heavily lose
/// that margin; a recipe with <c>dtype: float64</c> sums in f64 for them. bf16 has f32's exponent range, so
/// a sum of large bf16 values could overflow f32 where f64 would not: the f32 sum therefore carries the weights
/// and the divisor scaled by 2⁻ˢ with 2ˢ ≥ Σ|wᵢ| (s ≤ 13, <see cref="Accumulation.ScaleExponent"/>), which keeps
/// every partial sum within the inputs' range; a power-of-two scale is exact (every scaled bf16 value stays a
/// multiple of 2⁻¹⁴⁹), so it changes no bit of any result that does not overflow. f32 inputs or outputs keep
/// the f64 sum, where the same argument holds with 29 spare bits.
/// </para>
/// The non-float rule — integer and bool tensors are never averaged: they come from the base when it has
/// the tensor with the same dtype and shape, else from the first model — is <see cref="CopySource"/>.
/// </summary>
[System.Runtime.CompilerServices.SkipLocalsInit] // the stack buffers are always written before they are read
public static class SoupAccumulator
{
    /// <summary>Elements converted at once through stack buffers (16 KiB of f32, 32 KiB of f64: L1-sized).</summary>
    public const int Slice = 4096;

    /// <summary>
    /// Where a tensor that is not averaged (integer, bool) comes from: the base when it has it with the same
    /// dtype and shape, else the first model — the model-soups reference code never averages counters such as
    /// BatchNorm's <c>num_batches_tracked</c> (METHODS.md, pitfalls).
    /// </summary>
    public static TensorRef CopySource(TensorRef? baseTensor, TensorRef first) =>
        baseTensor is not null && baseTensor.DType == first.DType && baseTensor.Info.SameShape(first.Info) ? baseTensor : first;

    /// <summary>
    /// Starts a sum: every accumulator set to −0, the additive identity of IEEE arithmetic (−0 + x = x for
    /// every x, +0 included, where +0 + (−0) would be +0), so a soup of models that all hold −0 keeps −0.
    /// </summary>
    public static void Clear(Accumulation accumulation, Span<byte> acc)
    {
        if (accumulation.Type == DType.F32) MemoryMarshal.Cast<byte, float>(acc).Fill(-0.0f);
        else MemoryMarshal.Cast<byte, double>(acc).Fill(-0.0);
    }

    /// <summary>
    /// <c>acc += weight × compute(source)</c>, element by element, where <paramref name="acc"/> holds
    /// little-endian <paramref name="accumulation"/> values and <paramref name="source"/> little-endian
    /// <paramref name="sourceType"/> values of the same count.
    /// </summary>
    public static void Add(Accumulation accumulation, Span<byte> acc, DType compute, DType sourceType, ReadOnlySpan<byte> source, double weight)
    {
        int size = sourceType.Size();
        int count = source.Length / size;
        CheckAcc(accumulation, compute, acc.Length, count);
        if (accumulation.Type == DType.F32)
        {
            var a = MemoryMarshal.Cast<byte, float>(acc);
            float w = accumulation.Scaled(weight);
            if (sourceType == DType.BF16) { WeightedSum.AddScaledBFloat16(MemoryMarshal.Cast<byte, ushort>(source), w, a); return; }
            Span<float> tmp = stackalloc float[Slice];
            for (int s = 0; s < count; s += Slice)
            {
                int n = Math.Min(Slice, count - s);
                DTypeConversion.ToSingle(sourceType, source.Slice(s * size, n * size), tmp[..n]);
                WeightedSum.AddScaled(tmp[..n], w, a.Slice(s, n));
            }
            return;
        }
        var d = MemoryMarshal.Cast<byte, double>(acc);
        if (compute == DType.F64)
        {
            if (sourceType == DType.F64) { WeightedSum.AddScaled(MemoryMarshal.Cast<byte, double>(source), weight, d); return; }
            Span<double> tmp = stackalloc double[Slice];
            for (int s = 0; s < count; s += Slice)
            {
                int n = Math.Min(Slice, count - s);
                DTypeConversion.ToDouble(sourceType, source.Slice(s * size, n * size), tmp[..n]);
                WeightedSum.AddScaled(tmp[..n], weight, d.Slice(s, n));
            }
            return;
        }
        if (sourceType == DType.F32) { WeightedSum.AddScaled(MemoryMarshal.Cast<byte, float>(source), weight, d); return; }
        Span<float> f = stackalloc float[Slice];
        for (int s = 0; s < count; s += Slice)
        {
            int n = Math.Min(Slice, count - s);
            DTypeConversion.ToSingle(sourceType, source.Slice(s * size, n * size), f[..n]);
            WeightedSum.AddScaled(f[..n], weight, d.Slice(s, n));
        }
    }

    /// <summary>
    /// <paramref name="output"/> (little-endian <paramref name="outputType"/>) = acc / divisor, rounded to the
    /// compute dtype and then to <paramref name="outputType"/>.
    /// </summary>
    public static void Mean(Accumulation accumulation, ReadOnlySpan<byte> acc, DType compute, double divisor, DType outputType, Span<byte> output)
    {
        int size = outputType.Size();
        int count = output.Length / size;
        CheckAcc(accumulation, compute, acc.Length, count);
        if (compute == DType.F64)
        {
            var d = MemoryMarshal.Cast<byte, double>(acc);
            Span<double> tmp = stackalloc double[Slice];
            for (int s = 0; s < count; s += Slice)
            {
                int n = Math.Min(Slice, count - s);
                WeightedSum.Divide(d.Slice(s, n), divisor, tmp[..n]);
                DTypeConversion.FromDouble(tmp[..n], outputType, output.Slice(s * size, n * size));
            }
            return;
        }
        Span<float> f = stackalloc float[Slice];
        for (int s = 0; s < count; s += Slice)
        {
            int n = Math.Min(Slice, count - s);
            if (accumulation.Type == DType.F32) WeightedSum.Divide(MemoryMarshal.Cast<byte, float>(acc).Slice(s, n), accumulation.Scaled(divisor), f[..n]);
            else WeightedSum.Divide(MemoryMarshal.Cast<byte, double>(acc).Slice(s, n), divisor, f[..n]);
            DTypeConversion.FromSingle(f[..n], outputType, output.Slice(s * size, n * size));
        }
    }

    /// <summary>
    /// The mean with one more input, (acc + weight × compute(extra)) / divisor, without changing
    /// <paramref name="acc"/>: a greedy soup's candidate, equal bit for bit to <see cref="Add"/> then <see cref="Mean"/>.
    /// </summary>
    public static void MeanWith(Accumulation accumulation, ReadOnlySpan<byte> acc, DType compute, DType extraType, ReadOnlySpan<byte> extra, double weight,
        double divisor, DType outputType, Span<byte> output)
    {
        int outSize = outputType.Size(), extraSize = extraType.Size(), accSize = accumulation.Type.Size();
        int count = output.Length / outSize;
        CheckAcc(accumulation, compute, acc.Length, count);
        Span<byte> tmp = stackalloc byte[Slice * sizeof(double)];
        for (int s = 0; s < count; s += Slice)
        {
            int n = Math.Min(Slice, count - s);
            var a = tmp[..(n * accSize)];
            acc.Slice(s * accSize, n * accSize).CopyTo(a);
            Add(accumulation, a, compute, extraType, extra.Slice(s * extraSize, n * extraSize), weight);
            Mean(accumulation, a, compute, divisor, outputType, output.Slice(s * outSize, n * outSize));
        }
    }

    static void CheckAcc(Accumulation accumulation, DType compute, int accBytes, int count)
    {
        if (compute is not (DType.F32 or DType.F64)) throw new ArgumentException($"{compute} is not a compute type; use F32 or F64.", nameof(compute));
        if (compute == DType.F64 && accumulation.Type != DType.F64) throw new ArgumentException("an f64 computation accumulates in f64.", nameof(accumulation));
        if ((long)count * accumulation.Type.Size() != accBytes) throw new ArgumentException($"{accBytes} accumulator bytes do not hold {count} {accumulation.Type} values.");
    }
}
