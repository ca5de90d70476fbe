using TorchSharp;

namespace ModelSoups.TorchSharp.Runtime;

/// <summary>
/// Loads TorchSharp's native backend once and turns a load failure into a user-facing error.
/// TorchSharp reports a missing or unloadable libLibTorchSharp.so as a TypeInitializationException
/// on the first tensor operation, which says nothing useful; callers that start training or
/// evaluation call <see cref="EnsureLoaded"/> first.
/// </summary>
public static class TorchRuntime
{
    static readonly Lazy<Exception?> LoadError = new(TryLoad);

    /// <summary>Initialises the CPU backend; throws <see cref="ModelSoupsException"/> when it cannot load.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } e)
            throw new ModelSoupsException(
                "TorchSharp's native library (libLibTorchSharp.so) could not be loaded; on systems whose libstdc++ lacks GLIBCXX_3.4.32 " +
                "the build marks that need weak in the copy it puts in the output (eng/LibTorchSharpPatch), so rebuild with `dotnet build` " +
                "rather than copying binaries from another machine (" + (e.InnerException ?? e).Message.Split('\n')[0] + ")",
                null, e);
    }

    static int? _fixedThreads;

    /// <summary>
    /// Loads the backend and lets intra-op parallelism use every core (torch.set_num_threads), or the count that
    /// <see cref="FixThreads"/> set for this process.
    /// </summary>
    public static void UseAllCores()
    {
        EnsureLoaded();
        int threads = _fixedThreads ?? Environment.ProcessorCount;
        if (torch.get_num_threads() != threads) torch.set_num_threads(threads);
    }

    /// <summary>
    /// Pins libtorch's intra-op thread count for the rest of the process (null: every core again). CPU kernels split
    /// reductions by thread, so float sums (and hence trained weights) can differ in the last bits between thread
    /// counts; a fixed count makes a run repeat bit for bit on the same machine.
    /// </summary>
    public static void FixThreads(int? threads)
    {
        if (threads is < 1) throw new ModelSoupsException($"the thread count must be at least 1, not {threads}");
        _fixedThreads = threads;
        UseAllCores();
    }

    static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
        {
            return e;
        }
    }
}
