using System.Security.Cryptography;
using ModelSoups.Cli;
using ModelSoups.Engine;
using ModelSoups.Tensors;
using ModelSoups.Tests.Durability;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Cli;

/// <summary>The guarantees of README "What a merge guarantees": overwrite safety, non-finite checks, reproducible bytes.</summary>
public sealed class MergeSafetyTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    string Model(string name, int seed) => ModelFolders.Write(_dir.File(name), ModelFolders.Tiny(DType.BF16, seed));

    /// <summary>A model whose float tensors all hold <paramref name="value"/> (one element of embed_tokens set to <paramref name="special"/>).</summary>
    string Constant(string name, float value, float? special = null, DType dtype = DType.F32)
    {
        var tensors = ModelFolders.Tiny(dtype, 1).Select(t =>
        {
            var (info, bytes) = t;
            if (!info.DType.IsFloat()) return t;
            var v = Enumerable.Repeat(value, (int)info.ElementCount).ToArray();
            if (special is { } s && info.Name == "model.embed_tokens.weight") v[3] = s;
            return (info, ModelFolders.Bytes(dtype, v));
        });
        return ModelFolders.Write(_dir.File(name), tensors);
    }

    [Fact]
    public void Overwrite_of_an_output_that_is_an_input_through_a_symlink_is_refused_and_the_input_survives()
    {
        // The reproduction: mkdir s; cp -r A s/a; ln -s a s/alink; merge --models s/alink B --out s/a --overwrite.
        Directory.CreateDirectory(_dir.File("s"));
        var a = Model("s/a", 1);
        var b = Model("b", 2);
        File.CreateSymbolicLink(_dir.File("s/alink"), "a");
        var before = ModelFolders.ReadBytes(a);
        var r = Soup("merge", "--method", "linear", "--models", _dir.File("s/alink"), b, "--out", a, "--overwrite");
        Assert.Equal(2, r.Code);
        Assert.Contains("the output folder overlaps the input", r.Err);
        Assert.Equal(before, ModelFolders.ReadBytes(a));
    }

    [MountFact]
    public void Overwrite_of_an_input_reached_through_a_bind_mount_is_refused()
    {
        var a = Model("a", 1);
        var b = Model("b", 2);
        var mounted = _dir.File("mnt");
        Directory.CreateDirectory(mounted);
        Assert.Equal(0, Mounts.Run("mount", "--bind", a, mounted));
        try
        {
            var before = ModelFolders.ReadBytes(a);
            // Spelled differently and not a symlink: only device+inode identity shows they are one folder.
            var r = Soup("merge", "--method", "linear", "--models", mounted, b, "--out", a, "--overwrite");
            Assert.Equal(2, r.Code);
            Assert.Contains("overlaps the input", r.Err);
            Assert.Equal(before, ModelFolders.ReadBytes(a));
        }
        finally
        {
            Mounts.Run("umount", mounted);
        }
    }

    [Fact]
    public void Overwrite_refuses_a_folder_that_is_not_a_soup_output()
    {
        var a = Model("a", 1);
        var thesis = _dir.File("thesis");
        Directory.CreateDirectory(Path.Combine(thesis, "docs"));
        File.WriteAllText(Path.Combine(thesis, "docs", "thesis.txt"), "four years");
        var r = Soup("merge", "--method", "linear", "--models", a, "--out", thesis, "--overwrite");
        Assert.Equal(2, r.Code);
        Assert.Contains("refusing to overwrite: the folder holds no .safetensors weights", r.Err);
        Assert.Equal("four years", File.ReadAllText(Path.Combine(thesis, "docs", "thesis.txt")));
        // A model someone downloaded (weights, no soup provenance) is not ours either.
        var r2 = Soup("merge", "--method", "linear", "--models", a, "--out", Model("downloaded", 3), "--overwrite");
        Assert.Equal(2, r2.Code);
        Assert.Contains("not written by soup", r2.Err);
    }

    [Fact]
    public void An_overflowing_merge_fails_naming_tensor_and_count_and_writes_nothing()
    {
        var b = Constant("base", 0);
        var m = Constant("m", 1);
        var out1 = _dir.File("out");
        // lambda 1e300 × task vector 1 = 1e300, which is +Inf in float32: every float element overflows.
        var r = Soup("merge", "--method", "task_arithmetic", "--base", b, "--models", m, "--set", "lambda=1e300", "--out", out1);
        Assert.Equal(2, r.Code);
        // 24 + 24 + 24 + 4 + 1 float elements (ModelFolders.Tiny, rows 4 × cols 6).
        Assert.Contains("the merge produced 77 non-finite value(s) (NaN or ±Inf) that are not in the inputs, in 5 tensor(s)", r.Err);
        Assert.Contains("model.embed_tokens.weight (24)", r.Err);
        Assert.False(Directory.Exists(out1));
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));

        var allowed = Soup("merge", "--method", "task_arithmetic", "--base", b, "--models", m, "--set", "lambda=1e300", "--out", out1, "--allow-nonfinite");
        Assert.Equal(0, allowed.Code);
        Assert.Contains("note: the output has 77 non-finite value(s) not in the inputs (--allow-nonfinite)", allowed.Out);
    }

    [Fact]
    public void One_nan_in_an_input_spread_over_a_whole_slerp_tensor_is_an_error()
    {
        var a = Constant("a", 1, special: float.NaN);
        var b = Constant("b", 2);
        var r = Soup("merge", "--method", "slerp", "--models", a, b, "--set", "t=0.5", "--out", _dir.File("out"));
        Assert.Equal(2, r.Code);
        // The NaN's own element is in the input; the other 23 elements of the tensor were made NaN by the merge.
        Assert.Contains("model.embed_tokens.weight (23)", r.Err);
    }

    [Fact]
    public void A_nan_already_in_an_input_is_reported_by_input_tensor_and_count()
    {
        var b = Constant("base", 0);
        var m1 = Constant("m1", 1, special: float.NaN);
        var m2 = Constant("m2", 1);
        // TIES drops the NaN in its sign election/magnitude trim, so the output is finite; the input's NaN is still named.
        var r = Soup("merge", "--method", "ties", "--base", b, "--models", m1, m2, "--density", "1", "--out", _dir.File("out"));
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains($"note: input {m1} holds 1 non-finite value(s) (NaN or ±Inf): model.embed_tokens.weight (1).", r.Out);
    }

    [Fact]
    public void Non_finite_values_in_bf16_inputs_are_counted_as_converted()
    {
        // 16-bit inputs are counted on their staged file bytes (MergeEngine), not on the f32 values they widen to:
        // a NaN and a −Inf bf16 each count once, in the input that holds it; the base has none.
        var b = Constant("base", 0, dtype: DType.BF16);
        var m1 = Constant("m1", 1, special: float.NaN, dtype: DType.BF16);
        var m2 = Constant("m2", 1, special: float.NegativeInfinity, dtype: DType.BF16);
        var r = Soup("merge", "--method", "ties", "--base", b, "--models", m1, m2, "--density", "1", "--out", _dir.File("out"));
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains($"note: input {m1} holds 1 non-finite value(s) (NaN or ±Inf): model.embed_tokens.weight (1).", r.Out);
        Assert.Contains($"note: input {m2} holds 1 non-finite value(s) (NaN or ±Inf): model.embed_tokens.weight (1).", r.Out);
        Assert.DoesNotContain($"input {b} holds", r.Out);
    }

    [Fact]
    public void Huge_and_tiny_linear_weights_give_the_weighted_mean_not_zeros_or_an_error()
    {
        var a = Model("a", 1);
        var b = Model("b", 2);
        Assert.Equal(0, Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("ones")).Code);
        // 1e308 + 1e308 overflows a double and 1e-39 + 1e-39 was taken for zero; both are the plain mean.
        foreach (var (w, name) in new[] { ("1e308", "huge"), ("1e-39", "tiny") })
        {
            var r = Soup("merge", "--method", "linear", "--models", a, b, "--weights", w, w, "--out", _dir.File(name));
            Assert.True(r.Code == 0, r.Err);
            // The weights are scaled by a power of two first (exact), but 1e308 · 2^-1023 ≈ 1.11 is not 1, so the
            // rounding of the running sum may differ from weights (1, 1) by one bf16 ulp (2^-8 relative).
            var expected = ModelFolders.ReadFloats(_dir.File("ones"));
            foreach (var (tensor, got) in ModelFolders.ReadFloats(_dir.File(name)))
                for (int i = 0; i < got.Length; i++)
                    Assert.True(Math.Abs(got[i] - expected[tensor][i]) <= Math.Abs(expected[tensor][i]) / 128, $"{name} {tensor}[{i}]: {got[i]} vs {expected[tensor][i]}");
        }
        var zero = Soup("merge", "--method", "linear", "--models", a, b, "--weights", "1", "-1", "--out", _dir.File("zero"));
        Assert.Equal(2, zero.Code);
        Assert.Contains("sum to zero", zero.Err);
    }

    [Fact]
    public void With_no_timestamp_two_runs_write_byte_identical_files()
    {
        var a = Model("a", 1);
        var b = Model("b", 2);
        string Hashes(string folder) => string.Join("\n", Directory.GetFiles(folder).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))}"));
        // The same command twice (the output path is part of the model card, so both runs write to "out").
        Assert.Equal(0, Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"), "--no-timestamp").Code);
        Directory.Move(_dir.File("out"), _dir.File("one"));
        Assert.Equal(0, Soup("merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"), "--no-timestamp").Code);
        Assert.Equal(Hashes(_dir.File("one")), Hashes(_dir.File("out")));
        Assert.DoesNotContain("created:", File.ReadAllText(Path.Combine(_dir.File("out"), MergeEngine.RecipeFileName)));
    }

    [Fact]
    public void With_source_date_epoch_two_runs_write_byte_identical_files_stamped_with_that_time()
    {
        // The reproducible-builds convention, in a child soup (the variable is process-wide): 1700000000 s = 2023-11-14T22:13:20Z.
        var a = Model("a", 1);
        var b = Model("b", 2);
        var env = new Dictionary<string, string> { [CreationTime.SourceDateEpoch] = "1700000000" };
        string Hashes(string folder) => string.Join("\n", Directory.GetFiles(folder).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))}"));
        (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string> e)
        {
            using var p = SoupProcess.Start(e, "merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out"));
            return p.Wait(TimeSpan.FromSeconds(120));
        }
        var first = Run(env);
        Assert.True(first.Code == 0, first.Err);
        Directory.Move(_dir.File("out"), _dir.File("one"));
        Assert.Equal(0, Run(env).Code);
        Assert.Equal(Hashes(_dir.File("one")), Hashes(_dir.File("out")));
        Assert.Contains("created: 2023-11-14T22:13:20Z", File.ReadAllText(Path.Combine(_dir.File("out"), MergeEngine.RecipeFileName)));
        Directory.Delete(_dir.File("out"), recursive: true);
        var bad = Run(new Dictionary<string, string> { [CreationTime.SourceDateEpoch] = "yesterday" });
        Assert.Equal(2, bad.Code);
        Assert.Contains("SOURCE_DATE_EPOCH='yesterday' is not a number of seconds", bad.Err);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void An_empty_out_is_one_line_and_exit_code_2()
    {
        var a = Model("a", 1);
        var r = Soup("merge", "--method", "linear", "--models", a, "--out", "");
        Assert.Equal(2, r.Code);
        Assert.Equal("soup: --out is empty; give the output folder.", r.Err.Trim());
    }
}
