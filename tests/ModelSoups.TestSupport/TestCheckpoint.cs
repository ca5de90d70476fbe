using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;

namespace ModelSoups.TestSupport;

/// <summary>A tiny in-memory checkpoint for tests: tensors from arrays.</summary>
public sealed class TestCheckpoint : ICheckpoint
{
    private readonly SortedDictionary<string, TensorRef> _tensors = new(StringComparer.Ordinal);

    public TestCheckpoint(string location = "test") => Location = location;

    public string Location { get; }
    public string? Folder => null;
    public IReadOnlyDictionary<string, TensorRef> Tensors => _tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();
    public IReadOnlyList<string> Files => [];

    public TestCheckpoint Add(string name, DType dtype, long[] shape, byte[] data)
    {
        var info = new TensorInfo(name, dtype, shape);
        if (info.ByteLength != data.Length) throw new ArgumentException($"{name}: {data.Length} bytes for {info.ByteLength}");
        _tensors[name] = new ArrayTensor(info, data);
        return this;
    }

    public TestCheckpoint F32(string name, long[] shape, params float[] values) =>
        Add(name, DType.F32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public TestCheckpoint I64(string name, long[] shape, params long[] values) =>
        Add(name, DType.I64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public TestCheckpoint I32(string name, long[] shape, params int[] values) =>
        Add(name, DType.I32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public TestCheckpoint F16(string name, long[] shape, params float[] values) =>
        Add(name, DType.F16, shape, MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray());

    /// <summary>bf16 by truncation (tests use values exactly representable in bf16).</summary>
    public TestCheckpoint BF16(string name, long[] shape, params float[] values) =>
        Add(name, DType.BF16, shape, MemoryMarshal.AsBytes(values.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray().AsSpan()).ToArray());

    public float[] Floats(string name) => MemoryMarshal.Cast<byte, float>(_tensors[name].GetBytes()).ToArray();

    public void Dispose() { }

    private sealed class ArrayTensor(TensorInfo info, byte[] data) : TensorRef
    {
        public override TensorInfo Info => info;
        public override string? SourcePath => null;
        public override ReadOnlySpan<byte> GetBytes(long byteOffset, int byteCount) => data.AsSpan(checked((int)byteOffset), byteCount);
    }
}
