using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.Bench;

/// <summary>
/// `io`: write a bf16 checkpoint (default 1 GiB) through CheckpointWriter, then read every byte back
/// through the memory-mapped reader, each next to a plain in-memory copy of the same number of
/// bytes measured in the same run. Options: --dir PATH, --gib N, --threads N.
/// Reads are from the page cache (the file was just written); cold-disk reads are not measured.
/// </summary>
static class IoBenchmark
{
    public static int Run(string[] args)
    {
        string dir = Arg(args, "--dir") ?? Path.GetTempPath();
        double gib = double.Parse(Arg(args, "--gib") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        int threads = int.Parse(Arg(args, "--threads") ?? Environment.ProcessorCount.ToString());
        const int TensorBytes = 64 << 20;                       // 64 MiB tensors: [4096, 8192] bf16
        int count = (int)Math.Ceiling(gib * (1L << 30) / TensorBytes);
        long total = (long)count * TensorBytes;
        var tensors = Enumerable.Range(0, count).Select(i => new TensorInfo($"model.layers.{i}.weight", DType.BF16, [4096, 8192])).ToList();
        string output = Path.Combine(dir, $"soup-io-bench-{Guid.NewGuid():N}");

        // Source buffer, pre-touched, reused for every tensor.
        const int Chunk = 8 << 20;
        var src = new byte[Chunk];
        new Random(1).NextBytes(src);

        double memcpy = MemCopy(total);
        double memsum = MemSum(total);

        double writeOnly;
        var sw = Stopwatch.StartNew();
        using (var w = CheckpointWriter.Create(output, tensors, new CheckpointWriterOptions(MaxShardBytes: 512L << 20)))
        {
            Parallel.ForEach(tensors, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                for (long off = 0; off < TensorBytes; off += Chunk) w.Write(t.Name, off, src);
            });
            writeOnly = total / sw.Elapsed.TotalSeconds;
            w.Commit();   // includes fsync of every shard
        }
        double write = total / sw.Elapsed.TotalSeconds;

        ulong checksum = 0;
        sw.Restart();
        using (var c = Checkpoint.Open(output))
        {
            var sums = new ulong[c.Tensors.Count];
            var refs = c.Tensors.Values.ToArray();
            Parallel.For(0, refs.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                ulong s = 0;
                for (long off = 0; off < refs[i].ByteLength; off += Chunk)
                    s += TensorPrimitives.Sum(MemoryMarshal.Cast<byte, ulong>(refs[i].GetBytes(off, (int)Math.Min(Chunk, refs[i].ByteLength - off))));
                sums[i] = s;
            });
            foreach (var s in sums) checksum += s;
        }
        double read = total / sw.Elapsed.TotalSeconds;
        Directory.Delete(output, recursive: true);

        const double G = 1L << 30;
        Console.WriteLine($"io benchmark: {count} bf16 tensors [4096, 8192], {total / G:F2} GiB, shards of 512 MiB, {threads} threads, dir {dir}");
        Console.WriteLine($"{"measure",-44} {"GiB/s",8} {"vs baseline",12}");
        Console.WriteLine($"{"memory copy (Span.CopyTo, 1 thread)",-44} {memcpy / G,8:F2} {"",12}");
        Console.WriteLine($"{"memory checksum (TensorPrimitives.Sum, 1 t.)",-44} {memsum / G,8:F2} {"",12}");
        Console.WriteLine($"{"write: CheckpointWriter.Write (to page cache)",-44} {writeOnly / G,8:F2} {writeOnly / memcpy,11:F2}x");
        Console.WriteLine($"{"write: ... + Commit (fsync, rename)",-44} {write / G,8:F2} {write / memcpy,11:F2}x");
        Console.WriteLine($"{"read: open + mapped checksum (page cache)",-44} {read / G,8:F2} {read / memsum,11:F2}x");
        Console.WriteLine($"checksum {checksum:x16}");
        return 0;
    }

    // Copies `total` bytes between two pre-touched 256 MiB buffers.
    static double MemCopy(long total)
    {
        const int Size = 256 << 20;
        var a = new byte[Size];
        var b = new byte[Size];
        a.AsSpan().Fill(1);
        b.AsSpan().Fill(2);
        a.AsSpan().CopyTo(b);   // warm-up
        var sw = Stopwatch.StartNew();
        for (long done = 0; done < total; done += Size) a.AsSpan().CopyTo(b);
        return total / sw.Elapsed.TotalSeconds;
    }

    // Sums `total` bytes of a pre-touched 256 MiB buffer, the same way the read path does.
    static double MemSum(long total)
    {
        const int Size = 256 << 20;
        var a = new byte[Size];
        new Random(2).NextBytes(a);
        ulong s = TensorPrimitives.Sum(MemoryMarshal.Cast<byte, ulong>(a.AsSpan()));
        var sw = Stopwatch.StartNew();
        for (long done = 0; done < total; done += Size) s += TensorPrimitives.Sum(MemoryMarshal.Cast<byte, ulong>(a.AsSpan()));
        double r = total / sw.Elapsed.TotalSeconds;
        GC.KeepAlive(s);
        return r;
    }

    static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
