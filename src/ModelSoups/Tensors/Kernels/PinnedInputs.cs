using System.Buffers;
using System.Runtime.CompilerServices;

namespace ModelSoups.Tensors.Kernels;

/// <summary>
/// k inputs (<see cref="ReadOnlyMemory{T}"/>: managed arrays or the engine's native buffers) pinned for a kernel that
/// reads them through one array of pointers (<see cref="Pointers"/>, element i = input i), until <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class PinnedInputs<T> : IDisposable where T : unmanaged
{
    readonly MemoryHandle[] _handles;
    readonly nint[] _pointers;   // on the pinned heap: the kernels read it as T**

    /// <summary>Pins every input.</summary>
    public PinnedInputs(ReadOnlyMemory<T>[] inputs)
    {
        _handles = new MemoryHandle[inputs.Length];
        _pointers = GC.AllocateArray<nint>(Math.Max(1, inputs.Length), pinned: true);
        for (int i = 0; i < inputs.Length; i++)
        {
            _handles[i] = inputs[i].Pin();
            _pointers[i] = (nint)_handles[i].Pointer;
        }
    }

    /// <summary>The inputs' first elements.</summary>
    public T** Pointers => (T**)Unsafe.AsPointer(ref _pointers[0]);

    /// <summary>Unpins the inputs.</summary>
    public void Dispose()
    {
        foreach (var h in _handles) h.Dispose();
    }
}
