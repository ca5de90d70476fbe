using ModelSoups.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Runtime;

/// <summary>Our loader, not libtorch: it loads once (calling it again is free) and the backend then computes.
/// (The thread count UseAllCores asks for is process-wide and other tests change it, so it is not asserted here.)</summary>
public class TorchRuntimeTests
{
    [Fact]
    public void Loads_once_and_then_computes()
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.EnsureLoaded();
        using var x = tensor(new[] { 1f, 2f });
        using var y = x + x;
        Assert.Equal([2f, 4f], y.data<float>().ToArray());
    }
}
