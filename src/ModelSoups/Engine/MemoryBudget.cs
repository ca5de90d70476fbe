using System.Runtime.InteropServices;

namespace ModelSoups.Engine;

/// <summary>
/// The engine's working memory, capped: every buffer the engine computes in is rented here, and
/// the bytes rented plus the bytes kept for reuse never exceed <see cref="Capacity"/>. Buffers are
/// native (freed the moment they are trimmed, so the cap is a cap on resident memory, not a hint to
/// the GC) and are reused between tensors, because memory touched for the first time costs about
/// ten times more than memory already mapped.
/// </summary>
public sealed class MemoryBudget : IDisposable
{
    readonly object _gate = new();
    readonly List<NativeBuffer> _free = [];
    long _rented;
    long _cached;
    long _peak;
    bool _disposed;

    /// <summary>A budget of <paramref name="capacityBytes"/> bytes.</summary>
    public MemoryBudget(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, 1);
        Capacity = capacityBytes;
    }

    /// <summary>Most bytes that may be rented or cached at once.</summary>
    public long Capacity { get; }

    /// <summary>Highest number of bytes rented and cached at once so far.</summary>
    public long PeakBytes { get { lock (_gate) return _peak; } }

    /// <summary>
    /// Rents a buffer of at least <paramref name="bytes"/> bytes, waiting until other workers give
    /// back enough. Requests larger than the capacity are a planning error and throw.
    /// </summary>
    public NativeBuffer Rent(long bytes, CancellationToken cancel = default)
    {
        if (bytes > Capacity) throw new InvalidOperationException($"request of {bytes} bytes exceeds the budget of {Capacity} bytes");
        bytes = Math.Max(bytes, 64);
        lock (_gate)
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                // Reuse the smallest cached buffer that fits.
                int best = -1;
                for (int i = 0; i < _free.Count; i++)
                    if (_free[i].Length >= bytes && (best < 0 || _free[i].Length < _free[best].Length)) best = i;
                if (best >= 0 && _free[best].Length <= 2 * bytes)
                {
                    var b = _free[best];
                    _free.RemoveAt(best);
                    _cached -= b.Length;
                    _rented += b.Length;
                    return b;
                }
                // Drop cached buffers (largest first) until a new one fits.
                while (_rented + _cached + bytes > Capacity && _free.Count > 0)
                {
                    int largest = 0;
                    for (int i = 1; i < _free.Count; i++) if (_free[i].Length > _free[largest].Length) largest = i;
                    var victim = _free[largest];
                    _free.RemoveAt(largest);
                    _cached -= victim.Length;
                    victim.Free();
                }
                if (_rented + _cached + bytes <= Capacity)
                {
                    _rented += bytes;
                    _peak = Math.Max(_peak, _rented + _cached);
                    return NativeBuffer.Allocate(bytes);
                }
                cancel.ThrowIfCancellationRequested();
                Monitor.Wait(_gate, 100);
            }
        }
    }

    /// <summary>Gives a buffer back for reuse.</summary>
    public void Return(NativeBuffer buffer)
    {
        lock (_gate)
        {
            _rented -= buffer.Length;
            if (_disposed) buffer.Free();
            else { _free.Add(buffer); _cached += buffer.Length; }
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Frees every cached buffer.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var b in _free) b.Free();
            _free.Clear();
            _cached = 0;
            Monitor.PulseAll(_gate);
        }
    }
}

/// <summary>A block of native memory owned by a <see cref="MemoryBudget"/>.</summary>
public sealed unsafe class NativeBuffer
{
    NativeBuffer(void* pointer, long length) { Pointer = pointer; Length = length; }

    /// <summary>Start of the block (64-byte aligned).</summary>
    public void* Pointer { get; private set; }

    /// <summary>Size in bytes.</summary>
    public long Length { get; }

    internal static NativeBuffer Allocate(long bytes) => new(NativeMemory.AlignedAlloc((nuint)bytes, 64), bytes);

    internal void Free()
    {
        if (Pointer is null) return;
        NativeMemory.AlignedFree(Pointer);
        Pointer = null;
    }

    /// <summary>The first <paramref name="count"/> elements of type <typeparamref name="T"/>, starting <paramref name="byteOffset"/> bytes in.</summary>
    public Span<T> AsSpan<T>(long byteOffset, int count) where T : unmanaged
    {
        if (byteOffset < 0 || (long)count * sizeof(T) + byteOffset > Length) throw new ArgumentOutOfRangeException(nameof(count));
        return new Span<T>((byte*)Pointer + byteOffset, count);
    }
}
