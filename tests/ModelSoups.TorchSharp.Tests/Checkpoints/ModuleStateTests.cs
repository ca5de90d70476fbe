using ModelSoups.Tensors;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Checkpoints;

public class ModuleStateTests
{
    static SmallCnn TrainedCnn(int seed)
    {
        manual_seed(seed);
        var m = new SmallCnn(1, 10, width: 4);
        m.train();
        for (int i = 0; i < 3; i++) { using var x = randn(2, 1, 8, 8); using var y = m.call(x); }
        return m;
    }

    static void AssertSameBytes(List<(TensorInfo Info, byte[] Data)> a, List<(TensorInfo Info, byte[] Data)> b)
    {
        Assert.Equal(a.Select(t => t.Info.Name), b.Select(t => t.Info.Name));
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Info.DType, b[i].Info.DType);
            Assert.Equal(a[i].Info.Shape, b[i].Info.Shape);
            Assert.True(a[i].Data.AsSpan().SequenceEqual(b[i].Data), $"bytes of {a[i].Info.Name} differ");
        }
    }

    [Fact]
    public void Exports_pytorch_names_dtypes_and_counters()
    {
        using var m = TrainedCnn(1);
        var state = ModuleState.Export(m);
        // TorchSharp lists all parameters before all buffers (PyTorch goes module by module);
        // checkpoints sort by name anyway, so only the set of names matters.
        Assert.Equal(
            new[] { "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
             "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
             "fc.weight", "fc.bias" }.Order(StringComparer.Ordinal),
            state.Select(t => t.Info.Name).Order(StringComparer.Ordinal));
        var counter = state.Single(t => t.Info.Name == "bn1.num_batches_tracked");
        Assert.Equal(DType.I64, counter.Info.DType);
        Assert.Empty(counter.Info.Shape);
        Assert.Equal(3L, BitConverter.ToInt64(counter.Data)); // three training-mode forwards
        Assert.Equal(DType.F32, state.Single(t => t.Info.Name == "fc.bias").Info.DType);
    }

    [Fact]
    public void Golden_bytes_for_f32_and_bf16()
    {
        using var lin = nn.Linear(2, 1);
        using (no_grad()) { lin.weight!.copy_(tensor(new[] { 1f, -2f }).reshape(1, 2)); lin.bias!.fill_(0.5f); }
        var f32 = ModuleState.Export(lin);
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0 }, f32[0].Data);   // 1.0f, -2.0f
        lin.to(ScalarType.BFloat16);
        var bf16 = ModuleState.Export(lin);
        Assert.Equal(DType.BF16, bf16[0].Info.DType);
        Assert.Equal(new byte[] { 0x80, 0x3f, 0x00, 0xc0 }, bf16[0].Data);            // bf16 1.0, -2.0
        Assert.Equal(new byte[] { 0x00, 0x3f }, bf16[1].Data);                         // bf16 0.5
    }

    [Fact]
    public void Round_trip_is_exact_for_f32_and_int64()
    {
        using var source = TrainedCnn(1);
        using var target = TrainedCnn(2);
        var exported = ModuleState.Export(source);
        using var ckpt = new StateDictCheckpoint(exported);
        ModuleState.Load(target, ckpt);
        AssertSameBytes(exported, ModuleState.Export(target));
    }

    [Fact]
    public void Round_trip_is_exact_for_bf16()
    {
        using var source = TrainedCnn(3);
        source.to(ScalarType.BFloat16);
        using var target = TrainedCnn(4);
        target.to(ScalarType.BFloat16);
        var exported = ModuleState.Export(source);
        Assert.Contains(exported, t => t.Info.DType == DType.BF16);
        ModuleState.Load(target, new StateDictCheckpoint(exported));
        AssertSameBytes(exported, ModuleState.Export(target));
    }

    [Fact]
    public void Bf16_checkpoint_loads_into_f32_module_by_exact_widening()
    {
        using var source = TrainedCnn(5);
        source.to(ScalarType.BFloat16);
        using var target = TrainedCnn(6);
        ModuleState.Load(target, new StateDictCheckpoint(ModuleState.Export(source)));
        source.to(ScalarType.Float32); // bf16 → f32 is exact, so the two must now agree bit for bit
        AssertSameBytes(ModuleState.Export(source), ModuleState.Export(target));
    }

    [Fact]
    public void Missing_tensor_is_a_user_error()
    {
        using var m = TrainedCnn(1);
        var state = ModuleState.Export(m).Where(t => t.Info.Name != "fc.bias");
        var e = Assert.Throws<ModelSoupsException>(() => ModuleState.Load(m, new StateDictCheckpoint(state, "x.safetensors")));
        Assert.Contains("fc.bias", e.Message);
        Assert.Equal("x.safetensors", e.Path);
    }

    [Fact]
    public void Unexpected_tensor_is_a_user_error()
    {
        using var m = TrainedCnn(1);
        var state = ModuleState.Export(m).Append((new TensorInfo("extra", DType.F32, [1]), new byte[4]));
        Assert.Contains("extra", Assert.Throws<ModelSoupsException>(() => ModuleState.Load(m, new StateDictCheckpoint(state))).Message);
    }

    [Fact]
    public void Shape_mismatch_is_a_user_error()
    {
        using var m = TrainedCnn(1);
        var state = ModuleState.Export(m).Select(t => t.Info.Name == "fc.bias" ? (t.Info with { Shape = [5, 2] }, t.Data) : t);
        Assert.Contains("fc.bias", Assert.Throws<ModelSoupsException>(() => ModuleState.Load(m, new StateDictCheckpoint(state))).Message);
    }

    [Fact]
    public void Integer_dtype_mismatch_is_a_user_error()
    {
        using var m = TrainedCnn(1);
        var state = ModuleState.Export(m).Select(t => t.Info.Name == "bn1.num_batches_tracked" ? (t.Info with { DType = DType.F64 }, t.Data) : t);
        Assert.Contains("num_batches_tracked", Assert.Throws<ModelSoupsException>(() => ModuleState.Load(m, new StateDictCheckpoint(state))).Message);
    }
}
