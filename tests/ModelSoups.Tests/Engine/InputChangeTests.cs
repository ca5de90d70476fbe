using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary>An input rewritten or truncated by another process while it is mapped: a clean error, not SIGBUS or a wrong soup.</summary>
public sealed class InputChangeTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    (MergePlan Plan, string File) Planned()
    {
        var a = ModelFolders.Write(_dir.File("a"), ModelFolders.Tiny(DType.F32, 1));
        var b = ModelFolders.Write(_dir.File("b"), ModelFolders.Tiny(DType.F32, 2));
        var plan = MergePlan.Create(QuickRecipe.Build("linear", [a, b]), new MergeOptions());
        return (plan, Path.Combine(b, "model.safetensors"));
    }

    void AssertNothingWritten()
    {
        Assert.Equal(["a", "b"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_input_truncated_after_it_was_mapped_stops_the_merge_cleanly()
    {
        var (plan, file) = Planned();
        using (plan)
        {
            // Another process cuts the file short: reading those mapped pages now would kill the process with SIGBUS.
            using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write)) fs.SetLength(fs.Length / 2);
            var e = Assert.Throws<EnvironmentFaultException>(() => MergeEngine.Run(plan, _dir.File("out"), new MergeOptions { HashInputs = false }));
            Assert.Equal(file, e.Path);
            Assert.StartsWith("the input changed while being read", e.Message);
        }
        AssertNothingWritten();
    }

    [Fact]
    public void An_input_rewritten_in_place_stops_the_merge_instead_of_mixing_old_and_new_bytes()
    {
        var (plan, file) = Planned();
        using (plan)
        {
            var bytes = File.ReadAllBytes(file);
            bytes[^1] ^= 0x40;
            using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write)) fs.Write(bytes);
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(5));
            var e = Assert.Throws<EnvironmentFaultException>(() => MergeEngine.Run(plan, _dir.File("out"), new MergeOptions { HashInputs = false }));
            Assert.StartsWith("the input changed while being read", e.Message);
        }
        AssertNothingWritten();
    }

    /// <summary>
    /// An input that another process truncates at a chosen moment: after the engine's before-check of a read passed,
    /// just before the bytes are read — the window a check alone cannot close (reading mapped pages there is SIGBUS).
    /// </summary>
    sealed class TruncatedMidRead(TensorRef inner, string file, int afterReads) : TensorRef
    {
        int _reads;
        public override TensorInfo Info => inner.Info;
        public override string? SourcePath => inner.SourcePath;
        public override void CheckUnchanged() => inner.CheckUnchanged();
        void MaybeTruncate()
        {
            if (++_reads != afterReads) return;
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Write);
            fs.SetLength(64);   // inside the header: every tensor byte is now past the end
        }
        public override ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount) { MaybeTruncate(); return inner.GetBytes(byteOffset, byteCount); }
        public override void ReadInto(long byteOffset, Span<byte> destination) { MaybeTruncate(); inner.ReadInto(byteOffset, destination); }
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("ties")]
    [InlineData("slerp")]
    public void An_input_truncated_between_the_check_and_the_read_stops_the_merge_naming_it_and_leaves_nothing(string method)
    {
        const int N = 1 << 16;
        var values = Enumerable.Range(0, N).Select(i => (float)Math.Sin(i)).ToArray();
        var a = ModelFolders.Write(_dir.File("a"), [(new TensorInfo("w", DType.F32, [256, 256]), ModelFolders.Bytes(DType.F32, values))]);
        var b = ModelFolders.Write(_dir.File("b"), [(new TensorInfo("w", DType.F32, [256, 256]), ModelFolders.Bytes(DType.F32, values.Select(v => v / 2).ToArray()))]);
        var file = Path.Combine(b, "model.safetensors");
        var recipe = method == "linear" ? QuickRecipe.Build("linear", [a, b]) : QuickRecipe.Build(method, [b], a, density: method == "ties" ? 0.5 : null, settings: method == "slerp" ? ["t=0.5"] : []);
        var options = new MergeOptions { Threads = 1, HashInputs = false, MaxBlockElements = 4096 };
        using var real = MergePlan.Create(recipe, options);
        // The same plan, with b's tensor cut short during its third read (a later block for the element-wise linear).
        var plan = new MergePlan
        {
            Recipe = real.Recipe, Method = real.Method, Inputs = real.Inputs, InputModels = real.InputModels, HasBase = real.HasBase,
            LayerCount = real.LayerCount, Notes = real.Notes, ConfigSource = real.ConfigSource,
            Tasks = real.Tasks.Select(t => new TensorTask
            {
                Output = t.Output, Action = t.Action, Parameters = t.Parameters, LayerIndex = t.LayerIndex, LayerCount = t.LayerCount, Elementwise = t.Elementwise,
                Sources = real.SourcesOf(t).Select(r => r.SourcePath == file ? new TruncatedMidRead(r, file, method == "linear" ? 3 : 1) : r).ToList(),
            }).ToList(),
        };
        var e = Assert.Throws<EnvironmentFaultException>(() => MergeEngine.Run(plan, _dir.File("out"), options));
        Assert.Equal(file, e.Path);
        Assert.StartsWith("the input changed while being read", e.Message);
        AssertNothingWritten();
    }

    [Fact]
    public void A_positional_read_of_a_truncated_file_is_an_error_naming_it()
    {
        var a = ModelFolders.Write(_dir.File("a"), ModelFolders.Tiny(DType.F32, 1));
        var file = Path.Combine(a, "model.safetensors");
        using var c = Checkpoint.Open(a);
        var t = c.Tensors["model.layers.1.mlp.weight"];
        var before = new byte[t.ByteLength];
        t.ReadInto(0, before);
        Assert.Equal(t.GetBytes().ToArray(), before);
        using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write)) fs.SetLength(100);
        var e = Assert.Throws<EnvironmentFaultException>(() => t.ReadInto(0, new byte[t.ByteLength]));
        Assert.Equal(file, e.Path);
        Assert.Contains("now 100: cut short by another process", e.Message);
    }
}
