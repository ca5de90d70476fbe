using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// A hyperparameter sweep: the list of fine-tuning runs that become a soup's ingredients. From YAML,
/// either a grid (every combination, the last key varying fastest)
/// <code>
/// base: {optimizer: adamw, batch_size: 64}   # optional, fixed for every run
/// grid: {lr: [1e-4, 3e-4], weight_decay: [0, 0.1]}
/// </code>
/// or seeded random search (Wortsman et al. 2022 draw their ingredients at random)
/// <code>
/// random: {runs: 8, seed: 1, lr: {log_uniform: [1e-5, 1e-3]}, epochs: {choice: [1, 2]}, label_smoothing: {uniform: [0, 0.2]}}
/// </code>
/// Keys are <see cref="TrainingHyperparameters.Keys"/>. A run whose data_seed is not set gets its index as seed (grid)
/// or a drawn one (random), so every ingredient sees its own data order.
/// </summary>
public static class Sweep
{
    /// <summary>Reads a sweep file.</summary>
    public static IReadOnlyList<SweepRun> Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelSoupsException($"cannot read the sweep file: {e.Message}", path);
        }
        return Parse(text, path);
    }

    /// <summary>Parses sweep YAML; <paramref name="path"/> is only for messages.</summary>
    public static IReadOnlyList<SweepRun> Parse(string text, string? path = null)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) { throw new ModelSoupsException($"not valid YAML at line {e.Start.Line}: {e.Message}", path, e); }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ModelSoupsException("a sweep file is one YAML mapping with 'grid' or 'random' (and optionally 'base')", path);
        var keys = root.Children.ToDictionary(k => Scalar(k.Key, path, "a top-level key"), k => k.Value);
        foreach (var k in keys.Keys)
            if (k is not ("base" or "grid" or "random"))
                throw new ModelSoupsException($"unknown top-level key '{k}'; a sweep has 'base' and one of 'grid' or 'random'", path);
        var basis = new TrainingHyperparameters();
        bool baseSetsSeed = false;
        if (keys.TryGetValue("base", out var b))
        {
            foreach (var (k, v) in Mapping(b, path, "base"))
            {
                basis = basis.With(k, Value(v, path, $"base.{k}"), path);
                baseSetsSeed |= k == "data_seed";
            }
        }
        if (keys.ContainsKey("grid") == keys.ContainsKey("random"))
            throw new ModelSoupsException("a sweep needs exactly one of 'grid' or 'random'", path);
        return keys.TryGetValue("grid", out var grid) ? Grid(basis, baseSetsSeed, grid, path) : Random(basis, baseSetsSeed, keys["random"], path);
    }

    /// <summary>The default quick sweep of <c>soup finetune --runs N</c>: random lr, weight decay, label smoothing, augmentation and seed.</summary>
    public static IReadOnlyList<SweepRun> Default(int runs, ulong seed = 0) => Parse(string.Create(CultureInfo.InvariantCulture, $"""
        random:
          runs: {runs}
          seed: {seed}
          lr: {"{"}log_uniform: [1e-4, 3e-3]{"}"}
          weight_decay: {"{"}choice: [0, 0.0001, 0.001, 0.01, 0.1]{"}"}
          label_smoothing: {"{"}choice: [0, 0.1]{"}"}
          augmentation: {"{"}choice: [0, 0.5, 1]{"}"}
        """), "(default sweep)");

    static IReadOnlyList<SweepRun> Grid(TrainingHyperparameters basis, bool baseSetsSeed, YamlNode node, string? path)
    {
        var axes = Mapping(node, path, "grid").Select(kv =>
        {
            var values = kv.Value is YamlSequenceNode seq
                ? seq.Children.Select((v, i) => Value(v, path, $"grid.{kv.Key}[{i}]")).ToList()
                : [Value(kv.Value, path, $"grid.{kv.Key}")];
            if (values.Count == 0) throw new ModelSoupsException($"grid.{kv.Key} has no values", path);
            return (Key: kv.Key, Values: values);
        }).ToList();
        bool setsSeed = baseSetsSeed || axes.Any(a => a.Key == "data_seed");
        long total = axes.Aggregate(1L, (n, a) => n * a.Values.Count);
        if (total > 10_000) throw new ModelSoupsException($"the grid has {total} runs; at most 10000 are allowed", path);
        var runs = new List<SweepRun>();
        for (int index = 0; index < total; index++)
        {
            var hp = basis;
            int rest = index;
            for (int a = axes.Count - 1; a >= 0; a--)
            {
                var (key, values) = axes[a];
                hp = hp.With(key, values[rest % values.Count], path);
                rest /= values.Count;
            }
            if (!setsSeed) hp = hp with { DataSeed = (ulong)index };
            runs.Add(new SweepRun(RunName(index), hp));
        }
        return runs;
    }

    static IReadOnlyList<SweepRun> Random(TrainingHyperparameters basis, bool baseSetsSeed, YamlNode node, string? path)
    {
        var map = Mapping(node, path, "random");
        if (!map.TryGetValue("runs", out var runsNode)) throw new ModelSoupsException("random needs 'runs: N'", path);
        int runs = WholeNumber(runsNode, path, "random.runs", 1, 10_000);
        ulong seed = map.TryGetValue("seed", out var s) ? (ulong)WholeNumber(s, path, "random.seed", 0, int.MaxValue) : 0;
        var axes = map.Where(kv => kv.Key is not ("runs" or "seed"))
            .Select(kv => new SweepAxis(kv.Key, Distribution(kv.Value, path, $"random.{kv.Key}"))).ToList();
        return Random(basis, runs, seed, axes, baseSetsSeed, path);
    }

    /// <summary>
    /// Seeded random search over typed <paramref name="axes"/> (what a <c>random:</c> section parses into):
    /// <paramref name="runs"/> runs from <paramref name="basis"/>, drawn with SplitMix64(<paramref name="seed"/>).
    /// Unless <paramref name="basisSetsDataSeed"/> or an axis sets data_seed, each run gets a drawn data order.
    /// </summary>
    public static IReadOnlyList<SweepRun> Random(TrainingHyperparameters basis, int runs, ulong seed, IReadOnlyList<SweepAxis> axes,
        bool basisSetsDataSeed = false, string? path = null)
    {
        if (runs is < 1 or > 10_000) throw new ModelSoupsException($"a random sweep has 1..10000 runs, not {runs}", path);
        bool setsSeed = basisSetsDataSeed || axes.Any(a => a.Key == "data_seed");
        var rng = new Data.SplitMix64(seed);
        var result = new List<SweepRun>();
        for (int index = 0; index < runs; index++)
        {
            var hp = basis;
            foreach (var axis in axes) hp = hp.With(axis.Key, axis.Distribution.Draw(ref rng), path);
            // Drawn for every run, used or not, so fixing data_seed does not shift the other runs' draws.
            ulong dataSeed = rng.Next() >> 33;
            if (!setsSeed) hp = hp with { DataSeed = dataSeed };
            result.Add(new SweepRun(RunName(index), hp));
        }
        return result;
    }

    static SweepDistribution Distribution(YamlNode spec, string? path, string where)
    {
        if (spec is YamlScalarNode) return new SweepDistribution.Fixed(Value(spec, path, where));
        var m = Mapping(spec, path, where);
        if (m.Count != 1) throw new ModelSoupsException($"{where} must be a value or one of {{log_uniform: [a, b]}}, {{uniform: [a, b]}}, {{choice: [...]}}", path);
        var (kind, arg) = m.First();
        if (arg is not YamlSequenceNode seq || seq.Children.Count == 0)
            throw new ModelSoupsException($"{where}.{kind} needs a list", path);
        var items = seq.Children.Select((v, i) => Value(v, path, $"{where}.{kind}[{i}]")).ToList();
        switch (kind)
        {
            case "choice":
                return new SweepDistribution.Choice(items);
            case "uniform":
            case "log_uniform":
                if (items.Count != 2 || items[0] is not double lo || items[1] is not double hi || !(lo <= hi))
                    throw new ModelSoupsException($"{where}.{kind} needs [low, high] numbers with low ≤ high", path);
                if (kind == "uniform") return new SweepDistribution.Uniform(lo, hi);
                if (lo <= 0) throw new ModelSoupsException($"{where}.log_uniform needs a positive low bound", path);
                return new SweepDistribution.LogUniform(lo, hi);
            default:
                throw new ModelSoupsException($"{where}: unknown distribution '{kind}'; use log_uniform, uniform or choice", path);
        }
    }

    static string RunName(int index) => $"run-{index:D3}";

    static Dictionary<string, YamlNode> Mapping(YamlNode node, string? path, string where)
    {
        if (node is not YamlMappingNode map) throw new ModelSoupsException($"{where} must be a mapping (line {node.Start.Line})", path);
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = Scalar(k, path, $"a key of {where}");
            if (!result.TryAdd(key, v)) throw new ModelSoupsException($"{where}.{key} is given twice", path);
        }
        return result;
    }

    static string Scalar(YamlNode node, string? path, string what) =>
        node is YamlScalarNode { Value: { } v } ? v : throw new ModelSoupsException($"{what} must be plain text (line {node.Start.Line})", path);

    /// <summary>A number (double) when it parses as one, else the text.</summary>
    static object Value(YamlNode node, string? path, string where)
    {
        var text = Scalar(node, path, where);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : text;
    }

    static int WholeNumber(YamlNode node, string? path, string where, int min, int max)
    {
        var v = Value(node, path, where);
        if (v is double d && d == Math.Floor(d) && d >= min && d <= max) return (int)d;
        throw new ModelSoupsException($"{where} must be a whole number in {min}..{max}, not '{v}'", path);
    }
}
