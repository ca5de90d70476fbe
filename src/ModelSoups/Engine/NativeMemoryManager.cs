using System.Buffers;

namespace ModelSoups.Engine;

/// <summary>Exposes a slice of a <see cref="NativeBuffer"/> as <see cref="Memory{T}"/> for methods that take memory.</summary>
sealed unsafe class NativeMemoryManager<T>(NativeBuffer buffer, long byteOffset, int length) : MemoryManager<T> where T : unmanaged
{
    public override Span<T> GetSpan() => buffer.AsSpan<T>(byteOffset, length);

    public override MemoryHandle Pin(int elementIndex = 0) =>
        new((byte*)buffer.Pointer + byteOffset + (long)elementIndex * sizeof(T));

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
