namespace ModelSoups.Bench;

/// <summary>Dispatches to the named benchmark.</summary>
public static class BenchMain
{
    static readonly Dictionary<string, (string Help, Func<string[], int> Run)> Benchmarks = new(StringComparer.OrdinalIgnoreCase);

    public static void Register(string name, string help, Func<string[], int> run) => Benchmarks[name] = (help, run);

    public static int Run(string[] args)
    {
        BenchRegistry.RegisterAll();
        if (args.Length == 0 || !Benchmarks.TryGetValue(args[0], out var b))
        {
            Console.Error.WriteLine("usage: bench <name> [options]; benchmarks:");
            foreach (var (name, (help, _)) in Benchmarks.OrderBy(p => p.Key)) Console.Error.WriteLine($"  {name,-12} {help}");
            return args.Length == 0 ? 0 : 2;
        }
        return b.Run(args[1..]);
    }
}
