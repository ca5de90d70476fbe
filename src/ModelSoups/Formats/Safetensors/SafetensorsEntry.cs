using ModelSoups.Tensors;

namespace ModelSoups.Formats.Safetensors;

/// <summary>One tensor of a safetensors header: what it is and where its bytes lie, relative to the data section.</summary>
public sealed record SafetensorsEntry(TensorInfo Info, long Begin, long End)
{
    public string Name => Info.Name;
    public long ByteLength => End - Begin;
}
