using System.Diagnostics;
using ModelSoups.Checkpoints;
using ModelSoups.Cli;
using ModelSoups.Engine;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Durability;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Cli;

/// <summary>Hostile inputs from issue #11: each is one line on stderr and an exit code, never a hang or a stack trace.</summary>
public sealed class BadInputTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    static void OneLine((int Code, string Out, string Err) r, int code, string expected)
    {
        Assert.Equal(code, r.Code);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("soup: ", r.Err);
        Assert.Contains(expected, r.Err);
    }

    string Model(string name, int seed) => ModelFolders.Write(_dir.File(name), ModelFolders.Tiny(DType.BF16, seed));

    [Fact]
    public async Task A_fifo_given_as_a_model_is_refused_before_it_is_opened()
    {
        var fifo = _dir.File("pipe.safetensors");
        using (var p = Process.Start("mkfifo", [fifo])!) p.WaitForExit();
        var task = Task.Run(() => Soup("merge", "--method", "linear", "--models", fifo, Model("a", 1), "--out", _dir.File("out")));
        var done = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(done == task, "soup blocked opening a FIFO");
        OneLine(await task, 2, "this is a FIFO (named pipe), not a regular file");
    }

    [Fact]
    public void Yaml_nested_fifty_thousand_levels_is_refused_not_a_stack_overflow()
    {
        var recipe = _dir.File("deep.yaml");
        File.WriteAllText(recipe, "merge_method: linear\nmodels: " + new string('[', 50_000) + new string(']', 50_000) + "\n");
        OneLine(Soup("merge", recipe, "--out", _dir.File("out")), 2, "nested more than 64 levels deep");
    }

    [Fact]
    public void A_memory_budget_below_one_block_is_refused_naming_the_minimum_and_a_bare_number_needs_a_unit()
    {
        var a = Model("a", 1);
        var b = Model("b", 2);
        OneLine(Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"), "--memory-budget", "64"), 2,
            "--memory-budget: '64' has no unit; write e.g. 64MiB or 64GiB (or 64B for bytes).");
        var r = Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"), "--memory-budget", "1B");
        // Tiny's largest tensor has 24 elements: (2 inputs + 1 result) × 24 × 4 B + 24 × 2 B (bf16 output)
        // + 24 × 2 B (bf16 read staging of the positional reads) = 384 bytes; linear takes no scratch.
        OneLine(r, 2, "the memory budget of 1 B is below the 384 B (384 bytes) this merge needs at least");
        Assert.Equal(2, Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"), "--memory-budget", "383B").Code);
        Assert.Equal(0, Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"), "--memory-budget", "384B").Code);
    }

    [Fact]
    public void A_small_budget_runs_fewer_threads_and_is_never_exceeded()
    {
        // 3 inputs of 64 Ki f32 elements; one 4096-element block needs (3 + 1) × 4096 × 4 + 4096 × 4 = 80 KiB.
        var models = Enumerable.Range(0, 3).Select(i => ModelFolders.Write(_dir.File($"m{i}"),
            [(new TensorInfo("w", DType.F32, [1 << 16]), ModelFolders.Bytes(DType.F32, Enumerable.Repeat((float)i, 1 << 16).ToArray()))])).ToArray();
        long budget = 2 * 80 * 1024;
        var summary = MergeEngine.Run(QuickRecipe.Build("linear", models), _dir.File("out"),
            new MergeOptions { Threads = 16, MemoryBudgetBytes = budget, HashInputs = false });
        Assert.True(summary.PeakWorkingBytes <= budget, $"peak {summary.PeakWorkingBytes} > budget {budget}");
        Assert.Equal(Enumerable.Repeat(1f, 1 << 16), ModelFolders.ReadFloats(_dir.File("out"))["w"]);
    }

    [Fact]
    public void A_folder_given_as_the_recipe_says_so()
    {
        Directory.CreateDirectory(_dir.File("recipes"));
        OneLine(Soup("merge", _dir.File("recipes"), "--out", _dir.File("out")), 2, "this is a folder, not a recipe file");
    }

    [Fact]
    public void A_bad_parameter_names_the_recipe_file()
    {
        Model("base", 1); Model("a", 2);
        var recipe = _dir.File("r.yaml");
        File.WriteAllText(recipe, "merge_method: ties\nbase_model: ./base\nmodels:\n  - model: ./a\n    parameters: {density: 2, weight: 1}\n");
        var r = Soup("merge", recipe, "--out", _dir.File("out"));
        OneLine(r, 2, "density");
        Assert.StartsWith($"soup: {recipe}: ", r.Err);
    }

    [Fact]
    public void An_index_shard_that_is_a_folder_is_reported_as_a_folder()
    {
        var a = ModelFolders.Write(_dir.File("a"), ModelFolders.Tiny(DType.BF16, 1), maxShardBytes: 80);
        var shard = Directory.GetFiles(a, "model-00001-*.safetensors").Single();
        File.Delete(shard);
        Directory.CreateDirectory(shard);
        OneLine(Soup("inspect", a), 2, "which is a folder, not a file");
    }

    [Fact]
    public void Terminal_escapes_in_tensor_names_are_printed_escaped()
    {
        var evil = "x\u001b]0;pwned\u0007.weight";
        var path = _dir.File("evil.safetensors");
        SafetensorsFile.Write(path, [(new TensorInfo(evil, DType.F32, [1]), ModelFolders.Bytes(DType.F32, 1f))]);
        var r = Soup("inspect", path);
        Assert.Equal(0, r.Code);
        Assert.DoesNotContain('\u001b', r.Out);
        Assert.Contains(@"x\x1b]0;pwned\x07.weight", r.Out);
        // And in errors: a merge with a mismatching model names the tensor escaped.
        var other = _dir.File("other.safetensors");
        SafetensorsFile.Write(other, [(new TensorInfo(evil, DType.F32, [2]), ModelFolders.Bytes(DType.F32, 1f, 2f))]);
        Directory.CreateDirectory(_dir.File("e1")); Directory.CreateDirectory(_dir.File("e2"));
        File.Move(path, _dir.File("e1/model.safetensors")); File.Move(other, _dir.File("e2/model.safetensors"));
        var m = Soup("merge", "--method", "linear", "--models", _dir.File("e1"), _dir.File("e2"), "--out", _dir.File("out"));
        Assert.Equal(2, m.Code);
        Assert.DoesNotContain('\u001b', m.Err);
        Assert.Contains(@"\x1b", m.Err);
    }

    [Fact]
    public void Inspect_check_reports_non_finite_values_by_tensor_and_count_and_exits_1()
    {
        // Exit codes of --check: 0 every value finite, 1 non-finite values found (a finding, not bad input), 2 bad input.
        var path = _dir.File("nan.safetensors");
        SafetensorsFile.Write(path,
        [
            (new TensorInfo("a", DType.F32, [3]), ModelFolders.Bytes(DType.F32, 1f, float.NaN, float.PositiveInfinity)),
            (new TensorInfo("b", DType.BF16, [2]), ModelFolders.Bytes(DType.BF16, 1f, 2f)),
        ]);
        var r = Soup("inspect", path, "--check");
        Assert.Equal(1, r.Code);
        Assert.Contains($"check: {path}: 2 non-finite value(s) (NaN or ±Inf) in 1 tensor(s): a (2)", r.Out);

        var finite = _dir.File("finite.safetensors");
        SafetensorsFile.Write(finite, [(new TensorInfo("a", DType.F32, [2]), ModelFolders.Bytes(DType.F32, 1f, -2f))]);
        var ok = Soup("inspect", finite, "--check");
        Assert.Equal(0, ok.Code);
        Assert.Contains($"check: {finite}: every float value is finite", ok.Out);
        Assert.Equal(0, Soup("inspect", path).Code);   // without --check nothing is read, nothing found
        Assert.Equal(2, Soup("inspect", _dir.File("missing.safetensors"), "--check").Code);
    }

    [MountFact]
    public void A_full_device_is_refused_up_front_with_the_size_needed()
    {
        var mnt = _dir.File("small");
        Directory.CreateDirectory(mnt);
        Assert.Equal(0, Mounts.Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt));
        try
        {
            var big = ModelFolders.Write(_dir.File("big"), [(new TensorInfo("w", DType.F32, [1 << 20]), new byte[4 << 20])]);
            var r = Soup("merge", "--method", "linear", "--models", big, "--out", Path.Combine(mnt, "out"));
            Assert.Equal(1, r.Code);
            Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
            Assert.Contains("not enough space: the output needs 4.00 MiB", r.Err);
            Assert.Empty(Directory.GetFileSystemEntries(mnt));
        }
        finally
        {
            Mounts.Run("umount", mnt);
        }
    }

    [MountFact]
    public void Running_out_of_space_while_writing_names_the_file_and_the_size_and_leaves_nothing()
    {
        var mnt = _dir.File("small");
        Directory.CreateDirectory(mnt);
        Assert.Equal(0, Mounts.Run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt));
        try
        {
            var output = Path.Combine(mnt, "out");
            using (var w = CheckpointWriter.Create(output, [new TensorInfo("w", DType.F32, [1 << 20])], new CheckpointWriterOptions()))
            {
                // Something else fills the device after the up-front check passed.
                File.WriteAllBytes(Path.Combine(mnt, "filler"), new byte[6 << 20]);
                var e = Assert.Throws<EnvironmentFaultException>(() => w.Write("w", 0, new byte[4 << 20]));
                Assert.Equal(Path.Combine(output, "model.safetensors"), e.Path);
                Assert.StartsWith("no space left on the device while writing this file; the output needs 4.00 MiB", e.Message);
            }
            Assert.Equal(["filler"], Directory.GetFileSystemEntries(mnt).Select(Path.GetFileName));
        }
        finally
        {
            Mounts.Run("umount", mnt);
        }
    }
}
