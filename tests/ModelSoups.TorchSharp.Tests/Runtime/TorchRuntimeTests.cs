using ModelSoups.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Runtime;

/// <summary>Our loader, not libtorch: it loads once (calling it again is free) and the backend then computes.
/// (The thread count UseAllCores asks for is process-wide and other tests change it, so it is not asserted here.)</summary>
public class TorchRuntimeTests
{
    [Fact]
    public void Loads_once_and_uses_every_core_unless_pinned()
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.EnsureLoaded();
        // The thread count is process-wide and a demo run earlier in this process may have pinned it (FixThreads).
        TorchRuntime.FixThreads(1);
        Assert.Equal(1, torch.get_num_threads());
        TorchRuntime.FixThreads(null);
        TorchRuntime.UseAllCores();
        Assert.Equal(Environment.ProcessorCount, torch.get_num_threads());
        using var x = tensor(new[] { 1f, 2f });
        using var y = x + x;
        Assert.Equal([2f, 4f], y.data<float>().ToArray());
    }
}
