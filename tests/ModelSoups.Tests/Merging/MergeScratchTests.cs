using System.Numerics;
using System.Runtime.InteropServices;
using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

/// <summary>
/// Issue #11 finding 8: a method's working arrays (magnitudes to rank, sort keys, the radix histogram, per-model
/// chunk rows, DELLA's keep probabilities and recorded bits) come from the scratch the caller hands in, never from
/// the GC heap or the shared ArrayPool, and never exceed what the method declares (<see cref="IMergeMethod.ScratchElements"/>):
/// the engine reserves exactly that inside its budget.
/// </summary>
public sealed unsafe class MergeScratchTests
{
    // 256 rows of 512: 131,072 elements, past RankCut's radix threshold (65,536), so its histogram is taken too.
    const int Rows = 256, Cols = 512, N = Rows * Cols, Models = 3;

    public static TheoryData<string, string> Methods() => new()
    {
        { "ties", "density=0.5" },
        { "dare_ties", "density=0.5" },
        { "dare_linear", "density=0.5" },
        { "della", "density=0.5;epsilon=0.1" },
        { "della_linear", "density=0.5;epsilon=0.1" },
        { "breadcrumbs", "density=0.8;gamma=0.05" },
        { "breadcrumbs_ties", "density=0.8;gamma=0.05;granularity=row" },
        { "sce", "select_topk=0.5" },
        { "karcher", "" },
        { "arcee_fusion", "" },
        { "ram", "" },
        { "ramplus_tl", "r=0.5" },
        { "model_stock", "" },
        { "multislerp", "" },
        { "task_arithmetic", "" },
    };

    static MergeParameters Parameters(IMergeMethod m, int models, string settings)
    {
        var p = new MergeParameters(m, models);
        foreach (var kv in settings.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = (kv[..kv.IndexOf('=')], kv[(kv.IndexOf('=') + 1)..]);
            var def = m.Parameters.First(d => d.Name == name);
            object v = double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : value;
            if (def.Scope == ParameterScope.PerModel) p.SetAll(name, v); else p.Set(name, v);
        }
        return p;
    }

    static T[] Values<T>(int seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var r = new Random(seed);
        return Enumerable.Range(0, N).Select(_ => T.CreateChecked(r.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Runs the method with exactly its declared scratch; returns (bytes taken at most, managed bytes allocated meanwhile).</summary>
    static (long Peak, long Declared, long Allocated, T[] Output) Run<T>(string method, string settings) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var m = MergeMethods.Get(method);
        int models = Math.Min(Models, m.MaxModels);
        var p = Parameters(m, models, settings);
        bool hasBase = m.BaseModel != BaseModelUse.None;
        var inputs = Enumerable.Range(0, models).Select(i => Values<T>(i + 1)).ToArray();
        var b = Values<T>(99);
        long declared = m.ScratchElements(N, models) * sizeof(T) + MergeScratch.SlackBytes;
        var memory = NativeMemory.AlignedAlloc((nuint)Math.Max(declared, 8), 64);
        try
        {
            var scratch = MergeScratch.Over(memory, declared);
            var input = MergeRunner.Planned(m, MergeRunner.Input(inputs, hasBase ? b : null, p, [Rows, Cols]) with { Scratch = scratch });
            var output = new T[N];
            m.Merge(input, output);   // warm-up: JIT, parameter caches
            scratch.Reset();   // the engine hands every call a fresh scratch
            long before = GC.GetAllocatedBytesForCurrentThread();
            m.Merge(input, output);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            return (scratch.PeakBytes, declared, allocated, output);
        }
        finally { NativeMemory.AlignedFree(memory); }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_method_takes_its_working_memory_from_the_scratch_within_what_it_declares(string method, string settings)
    {
        foreach (var (peak, declared, allocated) in new[] { Summary(Run<float>(method, settings)), Summary(Run<double>(method, settings)) })
        {
            // Taking more than declared throws inside Run (MergeScratch.Take); here: within it, and off the GC heap.
            Assert.InRange(peak, 0, declared);
            // One tensor's worth of one f32 input is 512 KiB; what is left on the heap is O(models): weights, per-model state.
            Assert.True(allocated < 64 << 10, $"{method} allocated {allocated:N0} managed bytes for a {N:N0}-element tensor");
        }

        static (long, long, long) Summary<T>((long Peak, long Declared, long Allocated, T[] Output) r) => (r.Peak, r.Declared, r.Allocated);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void The_scratch_changes_nothing_in_the_result(string method, string settings)
    {
        // The same merge with managed (zeroed) arrays, as a library call without the engine's memory, gives the same
        // bits as the second run over the engine-style scratch, whose memory the first run left dirty.
        var (_, _, _, withScratch) = Run<float>(method, settings);
        var m = MergeMethods.Get(method);
        int models = Math.Min(Models, m.MaxModels);
        var p = Parameters(m, models, settings);
        var inputs = Enumerable.Range(0, models).Select(i => Values<float>(i + 1)).ToArray();
        var managed = new float[N];
        m.Merge(MergeRunner.Planned(m, MergeRunner.Input(inputs, m.BaseModel != BaseModelUse.None ? Values<float>(99) : null, p, [Rows, Cols])), managed);
        Assert.Equal(managed, withScratch);
        Assert.Contains(managed, x => x != 0);
    }

    [Fact]
    public void Taking_more_than_the_capacity_fails_loudly()
    {
        var memory = NativeMemory.AlignedAlloc(64, 64);
        try
        {
            var scratch = MergeScratch.Over(memory, 64);
            Assert.Equal(3, scratch.Take<float>(3).Length);
            Assert.Equal(12, scratch.UsedBytes);
            long mark = scratch.Mark();
            scratch.Take<double>(4);
            Assert.Equal(44, scratch.UsedBytes);
            scratch.Release(mark);
            Assert.Equal(12, scratch.UsedBytes);
            var e = Assert.Throws<InvalidOperationException>(() => scratch.Take<double>(7));
            Assert.Contains("more than the 64 it declared", e.Message);
            Assert.Equal(44, scratch.PeakBytes);
        }
        finally { NativeMemory.AlignedFree(memory); }
    }
}
