namespace ModelSoups.Bench;

/// <summary>The list of benchmarks; each benchmark file adds its line here.</summary>
static class BenchRegistry
{
    public static void RegisterAll()
    {
        BenchMain.Register("io", "checkpoint write/read throughput vs memory copy (--dir, --gib, --threads)", IoBenchmark.Run);
        ConvertBenchmark.Register();
        MergeBenchmark.Register();
        TiesKernelBenchmark.Register();
    }
}
