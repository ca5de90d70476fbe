using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Merging;
using ModelSoups.Recipes;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Merging;

/// <summary>
/// Typed parameters are bound exactly once per tensor, at planning, and never while merging: a method that counts
/// its binds and its blocks, run directly and through the engine with many blocks per tensor.
/// </summary>
public sealed class BindOnceTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    /// <summary>output = scale · model 0, element-wise; counts <see cref="Bind"/> calls and formula calls (blocks).</summary>
    sealed class Counting : MergeMethod<Counting.Scale>
    {
        public sealed record Scale(double Value);
        public int Binds;
        public int Blocks;
        public override string Name => "counting";
        public override string Description => "Scales the first model; counts binds and blocks (tests).";
        public override BaseModelUse BaseModel => BaseModelUse.None;
        public override IReadOnlyList<MergeParameterDef> Parameters { get; } = [new("scale", ParameterScope.Global, ParameterKind.Number, 1.0, "Factor.")];
        public override bool IsElementwise(MergeParameters parameters) => true;
        protected override Scale Bind(MergeParameters parameters)
        {
            Interlocked.Increment(ref Binds);
            return new Scale(parameters.Number("scale"));
        }
        protected override void MergeCore<T>(MergeInput<T> input, Scale parameters, Span<T> output)
        {
            Interlocked.Increment(ref Blocks);
            var x = input.Models[0].Span;
            for (int j = 0; j < output.Length; j++) output[j] = x[j] * T.CreateChecked(parameters.Value);
        }
    }

    [Fact]
    public void Planning_binds_once_and_blocks_only_read_the_record()
    {
        var m = new Counting();
        var p = new MergeParameters(m, 1).Set("scale", 2.0);
        float[] x = [1, 2, 3, 4, 5, 6, 7];
        var input = MergeRunner.Input([x], null, p, [x.Length]);
        Assert.Throws<InvalidOperationException>(() => m.Merge(input, new float[x.Length]));   // not planned: refused, not bound late
        Assert.Equal(0, m.Binds);
        MergeRunner.Planned(m, input);
        Assert.Equal(1, m.Binds);
        var output = MergeRunner.RunBlocked(m, input, block: 2);   // 4 blocks of 2, 2, 2, 1
        Assert.Equal([2f, 4, 6, 8, 10, 12, 14], output);
        Assert.Equal(4, m.Blocks);
        Assert.Equal(1, m.Binds);
    }

    [Fact]
    public void The_engine_binds_each_tensor_once_at_planning_and_never_per_block()
    {
        // Three float tensors of 10 000 elements (blocks of 4096: 3 each) and a counter that is copied, not merged.
        const int N = 10_000;
        string Model(string name, float offset) => ModelFolders.Write(_tmp.File(name),
        [
            .. new[] { "a.weight", "b.weight", "c.weight" }.Select(t => (new TensorInfo(t, DType.F32, [N]),
                ModelFolders.Bytes(DType.F32, Enumerable.Range(0, N).Select(j => j + offset).ToArray()))),
            (new TensorInfo("bn.num_batches_tracked", DType.I64, []), ModelFolders.Int64Bytes(3)),
        ]);
        var first = Model("m0", 0.25f);
        var second = Model("m1", 100f);
        var m = new Counting();
        var recipe = QuickRecipe.Build("linear", [first, second]) with { MergeMethod = m.Name, Parameters = new Dictionary<string, RecipeValue> { ["scale"] = new RecipeValue.Number(0.5) } };
        var options = new MergeOptions { Threads = 2, MaxBlockElements = 4096, HashInputs = false, NoTimestamp = true };
        using var plan = MergePlan.Create(recipe, options, m);
        var merged = plan.Tasks.Where(t => t.Action == TensorAction.Merge).ToList();
        Assert.Equal(3, merged.Count);
        Assert.Equal(3, m.Binds);                          // one per merged tensor, during planning
        var records = merged.Select(t => m.Typed(t.Parameters!)).ToList();
        Assert.Equal(3, records.Distinct(ReferenceEqualityComparer.Instance).Count());

        var output = _tmp.File("out");
        MergeEngine.Run(plan, output, options);
        Assert.Equal(3 * 3, m.Blocks);                      // ⌈10 000 / 4096⌉ = 3 blocks per tensor
        Assert.Equal(3, m.Binds);                           // none while merging
        Assert.Equal(records, merged.Select(t => m.Typed(t.Parameters!)));
        using var result = Checkpoint.Open(output);
        // 0.5 · (j + 0.25) at j = 9999: 4999.625, exact in f32.
        Assert.Equal(4999.625f, MemoryMarshal.Cast<byte, float>(result.Tensors["b.weight"].GetBytes())[N - 1]);
    }
}
