using ModelSoups.Checkpoints;
using ModelSoups.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Checkpoints;

/// <summary>
/// A TorchSharp module's state_dict (parameters and buffers under PyTorch names such as
/// <c>layer1.0.conv1.weight</c>, <c>bn1.running_mean</c>, <c>bn1.num_batches_tracked</c>) as checkpoint
/// tensors, and back. Bytes are copied exactly: no dtype conversion on export, and on load only
/// float → float when the checkpoint and the module disagree (as PyTorch's load_state_dict does).
/// </summary>
public static class ModuleState
{
    /// <summary>Every state_dict entry as (info, little-endian bytes), in state_dict order.</summary>
    public static List<(TensorInfo Info, byte[] Data)> Export(nn.Module module)
    {
        var result = new List<(TensorInfo, byte[])>();
        foreach (var (name, tensor) in module.state_dict())
        {
            // A scope per tensor: detach() and cpu() make wrappers too, which must not be left to the finalizer.
            using var scope = NewDisposeScope();
            var cpu = tensor.detach().cpu().contiguous();
            var info = new TensorInfo(name, cpu.dtype.ToDType(), cpu.shape.ToArray());
            byte[] data = cpu.bytes.ToArray();
            if (data.LongLength != info.ByteLength)
                throw new InvalidOperationException($"TorchSharp gave {data.LongLength} bytes for '{name}' {info.ShapeText} {info.DType}");
            result.Add((info, data));
        }
        return result;
    }

    /// <summary>The module's state as an in-memory checkpoint.</summary>
    public static StateDictCheckpoint ToCheckpoint(nn.Module module, string location = "memory") =>
        new(Export(module), location);

    /// <summary>
    /// Copies the checkpoint's tensors into the module's parameters and buffers, in place.
    /// Names must match exactly (both ways) and shapes must be equal; a float tensor may be stored in
    /// another float dtype and is converted, integer and bool tensors must match their dtype.
    /// </summary>
    public static void Load(nn.Module module, ICheckpoint checkpoint)
    {
        var state = module.state_dict();
        var missing = state.Keys.Where(k => !checkpoint.Tensors.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ModelSoupsException($"the checkpoint lacks {missing.Count} tensor(s) the model needs, e.g. '{missing[0]}'", checkpoint.Location);
        var unexpected = checkpoint.Tensors.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
            throw new ModelSoupsException($"the checkpoint has {unexpected.Count} tensor(s) the model does not, e.g. '{unexpected[0]}'", checkpoint.Location);

        using var _ = no_grad();
        foreach (var (name, target) in state)
        {
            var source = checkpoint.Tensors[name];
            if (!source.Shape.AsSpan().SequenceEqual(target.shape))
                throw new ModelSoupsException(
                    $"tensor '{name}' is {source.Info.ShapeText} in the checkpoint but [{string.Join(", ", target.shape)}] in the model", checkpoint.Location);
            var targetType = target.dtype.ToDType();
            if (source.DType != targetType && !(source.DType.IsFloat() && targetType.IsFloat()))
                throw new ModelSoupsException($"tensor '{name}' is {source.DType} in the checkpoint but {targetType} in the model", checkpoint.Location);
            if (!source.DType.TryToScalarType(out var sourceScalar))
                throw new ModelSoupsException($"tensor '{name}' is {source.DType}, which TorchSharp cannot hold", checkpoint.Location);
            using var scope = NewDisposeScope();
            var staged = empty(source.Shape, sourceScalar);
            if (source.ByteLength > 0) staged.bytes = MutableCopy(source);
            target.copy_(staged);  // copy_ converts float dtypes and keeps the target's device
        }
    }

    // TorchSharp's bytes setter takes a Span<byte>; checkpoint views are read-only.
    static Span<byte> MutableCopy(TensorRef source) => source.GetBytes().ToArray();
}
