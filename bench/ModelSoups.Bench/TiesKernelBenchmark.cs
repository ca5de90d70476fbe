using System.Diagnostics;
using System.Globalization;
using ModelSoups.Merging;

namespace ModelSoups.Bench;

/// <summary>
/// `ties-kernel`: where TIES spends its time on one tensor, in process, single thread, f32 compute (what the engine
/// runs for bf16 inputs): the whole method against linear's weighted sum of the same inputs (the same-run baseline),
/// and its parts — the magnitude top-k cut of one task vector, and the fused trim + sign election + disjoint mean.
/// Options: --elements N (default 16 Mi, one [4096, 4096] tensor), --models K (4), --repeat R (5; the least CPU time counts).
/// </summary>
static class TiesKernelBenchmark
{
    public static void Register() =>
        BenchMain.Register("ties-kernel", "TIES on one f32 tensor vs linear, and its parts (--elements, --models, --repeat)", Run);

    static string? Arg(string[] args, string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    public static unsafe int Run(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int n = int.Parse(Arg(args, "--elements") ?? (16 << 20).ToString(inv), inv);
        int k = int.Parse(Arg(args, "--models") ?? "4", inv);
        int repeat = int.Parse(Arg(args, "--repeat") ?? "5", inv);
        var rng = new Random(7);
        // Fine-tunes of one base: base ~ N(0, 0.02), each model = base + N(0, 0.002), rounded through bf16 as checkpoints are.
        static float Bf16(float x) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(x) & unchecked((int)0xFFFF0000));
        float Normal(double sd) => (float)(sd * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        var b = new float[n];
        for (int j = 0; j < n; j++) b[j] = Bf16(Normal(0.02));
        var models = new float[k][];
        for (int i = 0; i < k; i++)
        {
            models[i] = new float[n];
            for (int j = 0; j < n; j++) models[i][j] = Bf16(b[j] + Normal(0.002));
        }
        var output = new float[n];
        var ties = MergeMethods.Get("ties");
        var tp = new MergeParameters(ties, k);
        for (int i = 0; i < k; i++) tp.Set("density", i, 0.5);
        var linear = MergeMethods.Get("linear");
        var lp = new MergeParameters(linear, k);
        ties.Validate(tp, hasBase: true);      // the planning step (MergePlan's, once per tensor): binds the typed records
        linear.Validate(lp, hasBase: false);
        MergeInput<float> Input(MergeParameters p, bool withBase) => new()
        {
            Models = models.Select(m => (ReadOnlyMemory<float>)m).ToArray(),
            Base = withBase ? b : ReadOnlyMemory<float>.Empty,
            HasBase = withBase,
            Parameters = p,
            Shape = [n],
            Seed = 1,
        };
        // The method's working memory as the engine hands it: native, exactly what TIES declares, reused between calls.
        long declared = ties.ScratchElements(n, k) * sizeof(float) + MergeScratch.SlackBytes;
        var memory = System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)declared, 64);
        var scratch = MergeScratch.Over(memory, declared);
        var tiesInput = Input(tp, true) with { Scratch = scratch };
        var linearInput = Input(lp, false);
        var mags = new float[n];

        double Best(Action a)
        {
            a();   // warm-up (JIT, page faults)
            double best = double.MaxValue;
            var process = Process.GetCurrentProcess();
            for (int r = 0; r < repeat; r++)
            {
                // CPU time of the process, not wall time: on a shared, loaded machine the wall clock mostly measures
                // the other processes; the work is single-threaded, so its CPU time is its cost.
                process.Refresh();
                var before = process.TotalProcessorTime;
                a();
                process.Refresh();
                best = Math.Min(best, (process.TotalProcessorTime - before).TotalSeconds);
            }
            return best;
        }

        double tLinear = Best(() => linear.Merge(linearInput, output));
        double tTies = Best(() => { scratch.Reset(); ties.Merge(tiesInput, output); });
        double tCut = Best(() => { scratch.Reset(); RankCut<float>.FindOfDifference(models[0], b, n / 2, mags, scratch); });
        double tFullSelect = Best(() =>
        {
            System.Numerics.Tensors.TensorPrimitives.Subtract(models[0], b, mags);
            System.Numerics.Tensors.TensorPrimitives.Abs<float>(mags, mags);
            scratch.Reset();
            RankCut<float>.Find(mags, n / 2, scratch);
        });
        System.Runtime.InteropServices.NativeMemory.AlignedFree(memory);
        Console.WriteLine(string.Create(inv, $"ties-kernel: {k} models x {n:N0} f32 elements, density 0.5, best CPU time of {repeat}, one thread"));
        Console.WriteLine(string.Create(inv, $"  linear (weighted sum)              {tLinear * 1000,8:0.0} ms  1.00x"));
        Console.WriteLine(string.Create(inv, $"  ties (whole method)                {tTies * 1000,8:0.0} ms  {tTies / tLinear:0.00}x linear"));
        Console.WriteLine(string.Create(inv, $"    top-k cut of one task vector     {tCut * 1000,8:0.0} ms  (x{k} models: {k * tCut * 1000:0.0} ms)"));
        Console.WriteLine(string.Create(inv, $"    (the same cut by a full radix select {tFullSelect * 1000,8:0.0} ms)"));
        Console.WriteLine(string.Create(inv, $"    the rest (trim, elect, mean)     {(tTies - k * tCut) * 1000,8:0.0} ms"));
        return 0;
    }
}
