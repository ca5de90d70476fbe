using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.Bench;

/// <summary>
/// `merge`: 4 bf16 checkpoints of ≥ 1 GiB each (plus a base for TIES), written by the benchmark and
/// in page cache, merged with `soup merge` (a child process, as a user runs it) using `linear` and
/// `ties`. Reported next to, in the same run: the machine's memory-copy bandwidth, the raw I/O of
/// the same job (read every input once, write and fsync one output-sized file), and a plain PyTorch
/// implementation of the same merges (bench/baselines/pytorch_merge.py, Debian's python3-torch).
/// Options: --dir PATH, --gib N (per model), --models K, --soup PATH (the launcher), --threads N (passed to soup merge), --python PATH, --skip-torch, --skip-ties,
/// --methods LIST (comma-separated, default linear,ties; also della, della_linear, sce, karcher with the settings in <see cref="MethodArgs"/>).
/// </summary>
static partial class MergeBenchmark
{
    public static void Register() =>
        BenchMain.Register("merge", "soup merge (linear, ties) vs memory copy, raw I/O and PyTorch (--dir, --gib, --models)", Run);

    static string? Arg(string[] args, string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    public static int Run(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        string dir = Arg(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "soup-merge-bench");
        double gib = double.Parse(Arg(args, "--gib") ?? "1", inv);
        int k = int.Parse(Arg(args, "--models") ?? "4", inv);
        string soup = Path.GetFullPath(Arg(args, "--soup") ?? "soup");
        string python = Arg(args, "--python") ?? "/usr/bin/python3";
        string script = Path.GetFullPath(Arg(args, "--script") ?? "bench/baselines/pytorch_merge.py");
        bool torch = !args.Contains("--skip-torch") && File.Exists(python);
        var methods = (Arg(args, "--methods") ?? "linear,ties").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (args.Contains("--skip-ties")) methods.Remove("ties");
        bool ties = methods.Any(m => MethodArgs(m, "").UsesBase);
        string? threads = Arg(args, "--threads");                // passed on to soup merge (default: soup's own)
        Directory.CreateDirectory(dir);

        const int Rows = 4096, Cols = 4096;                      // 32 MiB bf16 tensors
        int tensors = (int)Math.Ceiling(gib * (1L << 30) / (Rows * Cols * 2.0));
        var names = new List<string>();
        for (int i = 0; i < k; i++) names.Add($"model{i}");
        if (ties) names.Add("base");
        Console.WriteLine($"writing {names.Count} bf16 checkpoints of {tensors} x [{Rows}, {Cols}] ({tensors * (long)Rows * Cols * 2 / (double)(1L << 30):0.00} GiB each) in {dir}");
        foreach (var (name, seed) in names.Select((n, i) => (n, i)))
            if (!HasDataBytes(Path.Combine(dir, name, "model.safetensors"), tensors * (long)Rows * Cols * 2))
            {
                DeleteDir(Path.Combine(dir, name));              // one written for another --gib: this benchmark's own folder
                WriteModel(Path.Combine(dir, name), tensors, Rows, Cols, seed);
            }
        var inputs = names.Where(n => n != "base").Select(n => Path.Combine(dir, n)).ToList();
        var files = names.Select(n => Path.Combine(dir, n, "model.safetensors")).ToList();
        foreach (var f in files) ReadAll(f);                     // into page cache

        long inputBytes = inputs.Sum(p => new FileInfo(Path.Combine(p, "model.safetensors")).Length);
        long outputBytes = new FileInfo(files[0]).Length;
        double gibIn = inputBytes / (double)(1L << 30);
        double memcpy = MemCopyBytesPerSecond();
        Console.WriteLine($"memory copy: {memcpy / (1L << 30):0.00} GiB/s (single thread, pre-touched 256 MiB buffers)");

        var rows = new List<(string What, double Seconds, string Extra)>();
        double raw = RawIo(inputs.Select(p => Path.Combine(p, "model.safetensors")).ToList(), Path.Combine(dir, "raw-out.bin"), outputBytes);
        rows.Add(("raw I/O (read inputs once, write+fsync output)", raw, ""));
        rows.Add(("memory copy of the input bytes", inputBytes / memcpy, ""));

        string outDir = Path.Combine(dir, "out");
        foreach (var method in methods)
        {
            var extra = MethodArgs(method, Path.Combine(dir, "base")).Args;
            foreach (bool hash in new[] { false, true })
            {
                if (method != "linear" && hash) continue;
                DeleteDir(outDir);
                var a = new List<string> { "merge", "--method", method, "--models" };
                a.AddRange(inputs);
                a.AddRange(extra);
                a.AddRange(["--out", outDir, "--memory-budget", "2GiB"]);
                if (!hash) a.Add("--no-hash");
                if (threads is not null) a.AddRange(["--threads", threads]);
                var (secs, output) = Time(soup, a);
                var anon = AnonPeak().Match(output) is { Success: true } m ? m.Groups[1].Value : "?";
                rows.Add(($"soup merge {method}{(hash ? " (+SHA-256 of inputs)" : "")}", secs, $"peak anon {anon}"));
            }
            if (torch && method is "linear" or "ties")
            {
                DeleteDir(outDir);
                var outFile = Path.Combine(dir, "torch-out.safetensors");
                var a = new List<string> { script, method, outFile };
                if (method == "ties") a.AddRange(["--base", files[^1]]);
                a.AddRange(inputs.Select(p => Path.Combine(p, "model.safetensors")));
                var (secs, _) = Time(python, a);
                rows.Add(($"PyTorch {method} (plain script)", secs, ""));
                File.Delete(outFile);
            }
        }
        DeleteDir(outDir);
        File.Delete(Path.Combine(dir, "raw-out.bin"));

        Console.WriteLine();
        Console.WriteLine($"| job ({k} models x {gibIn / k:0.00} GiB bf16, {Environment.ProcessorCount} cores) | seconds | input GiB/s | notes |");
        Console.WriteLine("|---|---:|---:|---|");
        foreach (var (what, secs, extra) in rows)
            Console.WriteLine(string.Create(inv, $"| {what} | {secs:0.00} | {gibIn / secs:0.00} | {extra} |"));
        return 0;
    }

    /// <summary>The `soup merge` arguments each benchmarked method gets beyond the models.</summary>
    static (bool UsesBase, string[] Args) MethodArgs(string method, string basePath) => method switch
    {
        "linear" => (false, []),
        "karcher" => (false, []),
        "ties" or "della" or "della_linear" => (true, ["--base", basePath, "--density", "0.5", "--set", "random_seed=1"]),
        "sce" => (true, ["--base", basePath, "--set", "select_topk=0.5"]),
        _ => throw new ArgumentException($"--methods: no benchmark settings for '{method}'"),
    };

    [GeneratedRegex(@"process anonymous memory peak ([0-9.]+ [KMG]iB)")]
    private static partial Regex AnonPeak();

    static (double Seconds, string Output) Time(string exe, List<string> args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        double s = sw.Elapsed.TotalSeconds;
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed ({p.ExitCode}): {err.Result}");
        return (s, output);
    }

    static void WriteModel(string folder, int tensors, int rows, int cols, int seed)
    {
        var infos = Enumerable.Range(0, tensors).Select(i => new TensorInfo($"model.layers.{i}.mlp.weight", DType.BF16, [rows, cols])).ToList();
        using var w = CheckpointWriter.Create(folder, infos, new CheckpointWriterOptions());
        var f = new float[rows * cols];
        var b = new byte[f.Length * 2];
        ulong state = 0x9E3779B97F4A7C15UL * (ulong)(seed + 1);
        for (int t = 0; t < tensors; t++)
        {
            // Shared "pre-trained" values plus a per-model perturbation, like fine-tunes of one base.
            ulong shared = 0xD1B54A32D192ED03UL * (ulong)(t + 1);
            for (int i = 0; i < f.Length; i++)
            {
                shared ^= shared << 13; shared ^= shared >> 7; shared ^= shared << 17;
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                f[i] = ((long)(shared >> 40) - (1L << 23)) / (float)(1 << 23) * 0.05f + ((long)(state >> 40) - (1L << 23)) / (float)(1 << 23) * 0.005f;
            }
            DTypeConversion.FromSingle(f, DType.BF16, b);
            w.Write(infos[t].Name, 0, b);
        }
        w.Commit();
    }

    /// <summary>
    /// Whether <paramref name="file"/> is a safetensors file with exactly <paramref name="dataBytes"/> bytes of tensor data
    /// (file length − 8 − header length): a checkpoint written earlier for another <c>--gib</c> is written again, not reused.
    /// </summary>
    static bool HasDataBytes(string file, long dataBytes)
    {
        if (!File.Exists(file)) return false;
        using var h = File.OpenHandle(file);
        Span<byte> prefix = stackalloc byte[8];
        if (RandomAccess.Read(h, prefix, 0) != 8) return false;
        long header = BitConverter.ToInt64(prefix);
        return header >= 0 && RandomAccess.GetLength(h) - 8 - header == dataBytes;
    }

    static void ReadAll(string file)
    {
        using var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var buf = new byte[8 << 20];
        while (s.Read(buf) > 0) { }
    }

    static double RawIo(List<string> inputs, string output, long outputBytes)
    {
        var buf = new byte[8 << 20];
        Array.Fill(buf, (byte)1);
        var sw = Stopwatch.StartNew();
        foreach (var f in inputs)
        {
            using var h = File.OpenHandle(f);
            long off = 0; int n;
            while ((n = RandomAccess.Read(h, buf, off)) > 0) off += n;
        }
        using (var o = File.OpenHandle(output, FileMode.Create, FileAccess.Write))
        {
            for (long off = 0; off < outputBytes; off += buf.Length)
                RandomAccess.Write(o, buf.AsSpan(0, (int)Math.Min(buf.Length, outputBytes - off)), off);
            RandomAccess.FlushToDisk(o);
        }
        return sw.Elapsed.TotalSeconds;
    }

    static double MemCopyBytesPerSecond()
    {
        const int Size = 256 << 20;
        var a = GC.AllocateUninitializedArray<byte>(Size);
        var b = GC.AllocateUninitializedArray<byte>(Size);
        a.AsSpan().Fill(1); b.AsSpan().Fill(2);
        double best = 0;
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 4; i++) a.AsSpan().CopyTo(b);
            best = Math.Max(best, 4.0 * Size / sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    static void DeleteDir(string d)
    {
        if (Directory.Exists(d)) Directory.Delete(d, true);
    }
}
