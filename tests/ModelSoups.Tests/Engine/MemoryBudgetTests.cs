using ModelSoups.Cli;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary>
/// Issue #11 finding 8: the memory budget caps everything the engine allocates for a work item — converted inputs,
/// result, output bytes, the staging of the positional reads and the method's own working arrays (its declared
/// scratch) — so the minimum the planner names is enough, one byte less is refused, and the peak stays inside.
/// </summary>
public sealed class MemoryBudgetTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    const int Rows = 256, Cols = 512, N = Rows * Cols;   // 131,072 f32 elements: the rank cut's radix path

    string Model(string name, int seed)
    {
        if (Directory.Exists(_dir.File(name))) return _dir.File(name);
        var r = new Random(seed);
        var values = Enumerable.Range(0, N).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        return ModelFolders.Write(_dir.File(name), [(new TensorInfo("w", DType.F32, [Rows, Cols]), ModelFolders.Bytes(DType.F32, values))]);
    }

    Recipe Ties(string? method = null, string[]? settings = null) =>
        QuickRecipe.Build(method ?? "ties", [Model("a", 1), Model("b", 2), Model("c", 3)], Model("base", 4), density: method == "sce" ? null : 0.5, settings: settings ?? []);

    [Fact]
    public void The_minimum_budget_counts_the_methods_scratch_and_a_merge_run_in_it_never_exceeds_it()
    {
        // TIES needs the whole tensor. Per worker: (3 models + base + result) × N × 4 B = 2,621,440
        // + N × 4 B output bytes (f32) = 524,288 + 65,536 × 4 B read staging = 262,144
        // + scratch (N magnitudes + 3 models × 256 chunk + 131,072 radix histogram as 4-byte elements) × 4 B = 1,051,648
        // + 64 B margin = 4,459,584 bytes.
        const long Need = 4_459_584;
        using (var plan = MergePlan.Create(Ties(), new MergeOptions()))
            Assert.Equal(Need, plan.MinimumBudgetBytes);
        var s = MergeEngine.Run(Ties(), _dir.File("fits"), new MergeOptions { Threads = 2, MemoryBudgetBytes = Need, HashInputs = false });
        Assert.InRange(s.PeakWorkingBytes, 1, Need);
        // The method's working arrays were taken inside it: at least the magnitudes and the histogram.
        Assert.InRange(s.PeakScratchBytes, (N + 131_072) * 4L, 1_051_648);
        var e = Assert.Throws<ModelSoupsException>(() =>
            MergeEngine.Run(Ties(), _dir.File("tight"), new MergeOptions { Threads = 2, MemoryBudgetBytes = Need - 1, HashInputs = false }));
        Assert.Contains("memory budget", e.Message);
        Assert.False(Directory.Exists(_dir.File("tight")));
    }

    [Theory]
    [InlineData("ties", null, "float64")]   // f64 compute: every buffer and the scratch twice as wide
    [InlineData("della", null, null)]
    [InlineData("della", null, "float64")]
    [InlineData("breadcrumbs_ties", "granularity=row", null)]
    [InlineData("sce", "select_topk=0.5", null)]
    [InlineData("dare_ties", "random_seed=3", null)]
    [InlineData("karcher", null, null)]
    public void Every_method_runs_in_its_own_minimum_with_its_scratch_inside_the_peak(string method, string? setting, string? compute)
    {
        string[] models = [Model("a", 1), Model("b", 2), Model("c", 3)];
        var recipe = () => method == "karcher"
            ? QuickRecipe.Build(method, models, computeDType: compute)
            : QuickRecipe.Build(method, models, Model("base", 4), density: method == "sce" ? null : 0.5, settings: setting is null ? [] : [setting], computeDType: compute);
        long need;
        using (var plan = MergePlan.Create(recipe(), new MergeOptions())) need = plan.MinimumBudgetBytes;
        // Taking more scratch than declared would throw inside the method (MergeScratch.Take), failing the merge.
        var s = MergeEngine.Run(recipe(), _dir.File($"out-{method}-{compute}"), new MergeOptions { Threads = 2, MemoryBudgetBytes = need, HashInputs = false });
        Assert.InRange(s.PeakWorkingBytes, 1, need);
        Assert.InRange(s.PeakScratchBytes, 1, s.PeakWorkingBytes);
    }

    [Fact]
    public void A_budget_below_one_work_item_is_one_line_naming_the_minimum_and_exit_2()
    {
        string[] args = ["merge", "--method", "ties", "--models", Model("a", 1), Model("b", 2), Model("c", 3), "--base", Model("base", 4),
            "--density", "0.5", "--out", _dir.File("out"), "--memory-budget", "4459583B"];
        var err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(args, new StringWriter(), err));
        Assert.Single(err.ToString().TrimEnd('\n').Split('\n'));
        Assert.Contains("needs 4.25 MiB (4,459,584 bytes) at once for ties with 4 inputs, more than the memory budget of 4.25 MiB", err.ToString());
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void Hashing_the_inputs_reads_through_the_same_budget()
    {
        // Tiny models: the workers' buffers peak at 24 × (8 + 2 + 2) = 288 bytes (linear's sum, output and staging for
        // the largest tensor) plus 64 (the smallest rent, the i64 copy's staging) = 352, but hashing reads each whole
        // input file (under a quarter of the 1 MiB budget) in one rented buffer: the peak the budget saw is at least one
        // file, so the hashing's memory is inside the cap.
        var a = ModelFolders.Write(_dir.File("ta"), ModelFolders.Tiny(DType.BF16, 1));
        var b = ModelFolders.Write(_dir.File("tb"), ModelFolders.Tiny(DType.BF16, 2));
        long file = new FileInfo(Path.Combine(a, "model.safetensors")).Length;
        Assert.True(file > 352, $"the fixture's file ({file} bytes) must be larger than the workers' peak");
        var s = MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _dir.File("hashed"), new MergeOptions { Threads = 1, MemoryBudgetBytes = 1 << 20 });
        Assert.InRange(s.PeakWorkingBytes, file, 1 << 20);
        var plain = MergeEngine.Run(QuickRecipe.Build("linear", [a, b]), _dir.File("plain"), new MergeOptions { Threads = 1, MemoryBudgetBytes = 1 << 20, HashInputs = false });
        Assert.Equal(352, plain.PeakWorkingBytes);
    }

    [Fact]
    public void A_tensor_whose_buffers_do_not_end_on_8_bytes_still_runs_in_exactly_the_minimum()
    {
        // bf16, 7 × 9,999 = 69,993 elements (odd): the output bytes end 2 bytes past a multiple of 4, so the scratch
        // that follows starts after a few bytes of alignment padding, which must come out of its margin, not the budget.
        string Odd(string name, int seed)
        {
            if (Directory.Exists(_dir.File(name))) return _dir.File(name);
            var r = new Random(seed);
            return ModelFolders.Write(_dir.File(name), [(new TensorInfo("w", DType.BF16, [7, 9_999]),
                ModelFolders.Bytes(DType.BF16, Enumerable.Range(0, 7 * 9_999).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray()))]);
        }
        var recipe = () => QuickRecipe.Build("ties", [Odd("o1", 1), Odd("o2", 2)], Odd("o0", 3), density: 0.5);
        long need;
        using (var plan = MergePlan.Create(recipe(), new MergeOptions())) need = plan.MinimumBudgetBytes;
        Assert.NotEqual(0, need % 8);
        var s = MergeEngine.Run(recipe(), _dir.File("odd"), new MergeOptions { Threads = 1, MemoryBudgetBytes = need, HashInputs = false });
        Assert.InRange(s.PeakWorkingBytes, 1, need);
    }
}
