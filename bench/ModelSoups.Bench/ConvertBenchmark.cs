using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ModelSoups.Tensors;

namespace ModelSoups.Bench;

/// <summary>
/// `convert [--gib N] [--reps R]`: bf16 → f32 and f32 → bf16 (and f16 both ways) over N GiB of
/// 16-bit data, next to a plain copy of the same bf16 bytes in the same run. Single thread;
/// buffers are written before timing so page faults are not measured. Best of R runs.
/// </summary>
static class ConvertBenchmark
{
    public static void Register() => BenchMain.Register("convert", "dtype conversion throughput vs memcpy (bf16/f16 <-> f32)", Run);

    static int Run(string[] args)
    {
        double gib = 1;
        int reps = 3;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--gib") gib = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            else if (args[i] == "--reps") reps = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }
        long bytes16 = (long)(gib * (1L << 30)) & ~63L;
        int n = checked((int)(bytes16 / 2));
        Console.WriteLine($"convert: {bytes16 / (double)(1L << 30):F2} GiB of 16-bit data ({n:N0} elements), best of {reps}, 1 thread, {RuntimeInformation.ProcessArchitecture}, AVX-512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}");

        var src16 = GC.AllocateUninitializedArray<byte>(checked((int)bytes16));
        var copy16 = GC.AllocateUninitializedArray<byte>(src16.Length);
        var f32 = GC.AllocateUninitializedArray<float>(n);
        var out16 = GC.AllocateUninitializedArray<byte>(src16.Length);
        // Realistic values (bf16 of small floats) and pre-touched pages.
        var rng = new Random(1);
        var span16 = MemoryMarshal.Cast<byte, ushort>(src16.AsSpan());
        for (int i = 0; i < span16.Length; i++) span16[i] = BFloat16Kernels.FromSingle((float)(rng.NextDouble() * 0.2 - 0.1));
        copy16.AsSpan().Fill(1);
        f32.AsSpan().Fill(1f);
        out16.AsSpan().Fill(1);

        double copy = Best(reps, () => src16.AsSpan().CopyTo(copy16));
        double toF32 = Best(reps, () => DTypeConversion.ToSingle(DType.BF16, src16, f32));
        double fromF32 = Best(reps, () => DTypeConversion.FromSingle(f32, DType.BF16, out16));
        if (!src16.AsSpan().SequenceEqual(out16)) { Console.Error.WriteLine("round trip bf16 -> f32 -> bf16 changed bytes"); return 1; }
        DTypeConversion.FromSingle(f32, DType.F16, src16); // f16 source data for the next pair
        double h2f = Best(reps, () => DTypeConversion.ToSingle(DType.F16, src16, f32));
        double f2h = Best(reps, () => DTypeConversion.FromSingle(f32, DType.F16, out16));

        double gb = bytes16 / 1e9;
        Console.WriteLine($"{"operation",-22} {"seconds",8} {"GB/s (16-bit side)",19} {"vs memcpy",10}");
        void Row(string name, double s) => Console.WriteLine($"{name,-22} {s,8:F3} {gb / s,19:F2} {copy / s,9:P0}");
        Row("memcpy (bf16 bytes)", copy);
        Row("bf16 -> f32", toF32);
        Row("f32 -> bf16 (RNE)", fromF32);
        Row("f16 -> f32", h2f);
        Row("f32 -> f16 (RNE)", f2h);
        Console.WriteLine("GB/s counts the 16-bit bytes; the f32 side moves twice as many bytes.");
        return 0;
    }

    static double Best(int reps, Action a)
    {
        double best = double.MaxValue;
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            a();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
