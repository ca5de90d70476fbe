using System.Buffers;

namespace ModelSoups.Merging;

/// <summary>
/// The working memory a method borrows while it merges one tensor or block (magnitudes to rank, sort keys,
/// histograms, per-model rows): handed in by the caller through <see cref="MergeInput{T}.Scratch"/>, so that the
/// engine can cap it with the rest of its memory. Each method declares how much it takes at most
/// (<see cref="IMergeMethod.ScratchElements"/>); the engine gives it exactly that, and a method that takes more is
/// a bug that fails loudly here rather than an allocation the memory budget never sees. Without a caller's memory
/// (<see cref="Managed"/>, the default for library calls) every take is a fresh managed array.
/// Takes are not zeroed (as ArrayPool's are not) and live until the merge call returns (or a <see cref="Release"/>); one scratch serves one call at a time.
/// </summary>
public sealed unsafe class MergeScratch
{
    /// <summary>Bytes a caller adds to a method's declared elements as a margin (takes are not padded; the start is 8-byte aligned).</summary>
    public const long SlackBytes = 64;

    readonly byte* _start;
    readonly long _capacity;   // -1: managed arrays
    long _used;

    MergeScratch(byte* start, long capacity)
    {
        _start = start;
        _capacity = capacity;
    }

    /// <summary>A scratch that allocates a managed array for every take (library calls outside the engine).</summary>
    public static MergeScratch Managed() => new(null, -1);

    /// <summary>A scratch over <paramref name="capacityBytes"/> bytes of native memory at <paramref name="start"/> (8-byte aligned), owned by the caller.</summary>
    public static MergeScratch Over(void* start, long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        if (((nuint)start & 7) != 0) throw new ArgumentException("scratch memory must be 8-byte aligned", nameof(start));
        return new((byte*)start, capacityBytes);
    }

    /// <summary>Bytes taken since the last <see cref="Reset"/>.</summary>
    public long UsedBytes => _used;

    /// <summary>Most bytes taken at once since this scratch was made (what the method really needed).</summary>
    public long PeakBytes { get; private set; }

    /// <summary>Capacity in bytes; -1 for <see cref="Managed"/>.</summary>
    public long CapacityBytes => _capacity;

    /// <summary>The current fill level, for <see cref="Release"/>: takes after it are given back together (stack order).</summary>
    public long Mark() => _used;

    /// <summary>Gives back every take made since <paramref name="mark"/> (from <see cref="Mark"/>).</summary>
    public void Release(long mark)
    {
        if (_capacity < 0) return;
        if (mark < 0 || mark > _used) throw new ArgumentOutOfRangeException(nameof(mark));
        _used = mark;
    }

    /// <summary>Gives every take back (the caller does this between merge calls).</summary>
    public void Reset() => _used = 0;

    /// <summary><paramref name="count"/> elements of <typeparamref name="T"/>, not zeroed (managed ones are).</summary>
    /// <exception cref="InvalidOperationException">More than the capacity: the method took more than it declared.</exception>
    public Span<T> Take<T>(int count) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_capacity < 0) return new T[count];
        long bytes = (long)count * sizeof(T);   // unpadded: x64 and arm64 read misaligned spans correctly
        if (_used + bytes > _capacity)
            throw new InvalidOperationException($"a merge method took {_used + bytes} bytes of scratch, more than the {_capacity} it declared (ScratchElements is wrong)");
        var span = new Span<T>(_start + _used, count);
        _used += bytes;
        PeakBytes = Math.Max(PeakBytes, _used);
        return span;
    }

    /// <summary>As <see cref="Take{T}"/>, as <see cref="Memory{T}"/> for state kept in fields between calls of one merge.</summary>
    public Memory<T> TakeMemory<T>(int count) where T : unmanaged
    {
        if (_capacity < 0) return new T[count];
        byte* at = _start + _used;
        Take<T>(count);
        return new Native<T>(at, count).Memory;
    }

    sealed class Native<T>(byte* pointer, int length) : MemoryManager<T> where T : unmanaged
    {
        public override Span<T> GetSpan() => new(pointer, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + (long)elementIndex * sizeof(T));
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}
