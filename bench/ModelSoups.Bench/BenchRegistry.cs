namespace ModelSoups.Bench;

/// <summary>The list of benchmarks; each benchmark file adds its line here.</summary>
static class BenchRegistry
{
    public static void RegisterAll()
    {
        ConvertBenchmark.Register();
    }
}
