using System.Diagnostics;

namespace ModelSoups.Engine;

/// <summary>
/// The progress of one merge: the workers count bytes and finished tensors; a background thread samples the counts
/// (and the process's anonymous memory, for the summary's peak) every 100 ms and hands them to
/// <see cref="MergeOptions.Progress"/>. Disposing stops the thread.
/// </summary>
internal sealed class MergeProgressSampler : IDisposable
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly CancellationTokenSource _stop = new();
    readonly Thread _thread;
    long _bytesDone, _peakAnon;
    int _tensorsDone;

    /// <param name="tensors">Tensors the merge writes.</param>
    /// <param name="totalBytes">Bytes it reads (inputs, plus the inputs again when hashing them).</param>
    /// <param name="report">Where the samples go (null: only the memory peak is sampled).</param>
    public MergeProgressSampler(int tensors, long totalBytes, Action<MergeProgress>? report)
    {
        _peakAnon = ProcessMemory.RssAnonBytes() ?? 0;
        _thread = new Thread(() =>
        {
            while (!_stop.Token.WaitHandle.WaitOne(100))
            {
                SamplePeak();
                report?.Invoke(new MergeProgress(Volatile.Read(ref _tensorsDone), tensors, Interlocked.Read(ref _bytesDone), totalBytes, _clock.Elapsed));
            }
        }) { IsBackground = true, Name = "soup-progress" };
        _thread.Start();
    }

    /// <summary>Time since the merge started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Peak anonymous memory of the process seen so far (sampled once more now), or null where it cannot be read.</summary>
    public long? PeakAnonBytes
    {
        get
        {
            SamplePeak();
            long p = Interlocked.Read(ref _peakAnon);
            return p > 0 ? p : null;
        }
    }

    /// <summary>Counts bytes read (by a worker or the hashing task).</summary>
    public void AddBytes(long bytes) => Interlocked.Add(ref _bytesDone, bytes);

    /// <summary>Counts a finished output tensor.</summary>
    public void TensorDone() => Interlocked.Increment(ref _tensorsDone);

    void SamplePeak()
    {
        long now = ProcessMemory.RssAnonBytes() ?? 0;
        long seen;
        while (now > (seen = Interlocked.Read(ref _peakAnon)) && Interlocked.CompareExchange(ref _peakAnon, now, seen) != seen) { }
    }

    /// <summary>Stops the sampling thread.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
