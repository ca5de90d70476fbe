using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// Which weights of a model are pruned: a keep-mask per prunable tensor (the <c>weight</c> of every Conv and Linear
/// module; biases and normalisation layers are never pruned, as in the SMS paper). While retraining, the mask is
/// fixed: <see cref="MaskGradients"/> zeroes the gradients of pruned entries after backward and <see cref="Apply"/>
/// re-zeroes the weights after every optimizer step (momentum or Adam state cannot revive them).
/// Saved as <c>mask.safetensors</c> beside the weights: one BOOL tensor <c>&lt;weight name&gt;.mask</c> per pruned
/// weight, true where the weight is kept (PyTorch's torch.nn.utils.prune <c>weight_mask</c> convention: 1 = kept).
/// </summary>
public sealed class SparsityMask : IDisposable
{
    /// <summary>File name beside the weights.</summary>
    public const string FileName = "mask.safetensors";
    /// <summary>Suffix of each mask tensor's name.</summary>
    public const string Suffix = ".mask";

    readonly Dictionary<string, Tensor> _pruned;   // bool, true where pruned (what masked_fill_ wants)
    readonly Dictionary<string, bool[]> _keep;

    SparsityMask(IReadOnlyList<string> names, IReadOnlyList<bool[]> keep, IReadOnlyList<long[]> shapes)
    {
        Names = names;
        _keep = new Dictionary<string, bool[]>(StringComparer.Ordinal);
        _pruned = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            _keep[names[i]] = keep[i];
            // Owned by this object (Dispose), never by a caller's dispose scope.
            using var scope = NewDisposeScope();
            _pruned[names[i]] = tensor(keep[i].Select(k => !k).ToArray()).reshape(shapes[i]).DetachFromDisposeScope();
        }
        Total = keep.Sum(k => (long)k.Length);
        PrunedCount = keep.Sum(k => (long)k.Count(x => !x));
    }

    /// <summary>The masked tensors' state names, in model order.</summary>
    public IReadOnlyList<string> Names { get; }
    /// <summary>Weights the mask covers.</summary>
    public long Total { get; }
    /// <summary>Weights pruned.</summary>
    public long PrunedCount { get; }
    /// <summary>PrunedCount / Total.</summary>
    public double Sparsity => Total == 0 ? 0 : (double)PrunedCount / Total;

    /// <summary>The keep-mask of tensor <paramref name="name"/> (true = kept), row-major.</summary>
    public IReadOnlyList<bool> Keep(string name) => _keep[name];

    /// <summary>State names of the prunable weights: <c>weight</c> of every Conv1d/2d/3d and Linear module, in model order.</summary>
    public static IReadOnlyList<string> PrunableNames(nn.Module module)
    {
        var state = module.state_dict();
        var names = new List<string>();
        foreach (var (name, m) in module.named_modules())
        {
            if (m is not (Linear or Conv1d or Conv2d or Conv3d)) continue;
            var weight = name.Length == 0 ? "weight" : name + ".weight";
            if (state.ContainsKey(weight)) names.Add(weight);
        }
        return names;
    }

    /// <summary>
    /// Prunes <paramref name="module"/> in place to <paramref name="sparsity"/> by magnitude (see <see cref="MagnitudePruning"/>),
    /// keeping every weight <paramref name="previous"/> pruned pruned, and returns the new mask.
    /// </summary>
    public static SparsityMask Prune(nn.Module module, double sparsity, PruningScope scope, SparsityMask? previous = null)
    {
        var names = PrunableNames(module);
        if (names.Count == 0) throw new ModelSoupsException("the model has no Conv or Linear weights to prune");
        if (previous is not null && !previous.Names.SequenceEqual(names)) throw new ArgumentException("the previous mask belongs to another architecture", nameof(previous));
        var state = module.state_dict();
        var values = names.Select(n => Floats(state[n])).ToList();
        var keep = MagnitudePruning.Masks(values, sparsity, scope, previous is null ? null : names.Select(n => previous._keep[n]).ToList());
        var mask = new SparsityMask(names, keep, names.Select(n => state[n].shape).ToList());
        mask.Apply(module);
        return mask;
    }

    /// <summary>Sets every pruned weight of <paramref name="module"/> to exactly +0.</summary>
    public void Apply(nn.Module module)
    {
        var state = module.state_dict();
        using var _ = no_grad();
        // Explicit Scalar kept alive by `using`: an implicit 0.0 → Scalar is left to the finalizer, which can free it
        // while libtorch still reads it ("Unknown scalar type"; dotnet/TorchSharp#1434).
        using var zero = 0.0.ToScalar();
        foreach (var name in Names)
        {
            using var scope = NewDisposeScope();
            var w = state[name];
            w.masked_fill_(PrunedOn(name, w.device), zero);
        }
    }

    /// <summary>Zeroes the gradients of pruned weights (call after backward, before the optimizer step).</summary>
    public void MaskGradients(nn.Module module)
    {
        using var _ = no_grad();
        using var zero = 0.0.ToScalar();  // explicit, see Apply
        foreach (var (name, p) in module.named_parameters())
        {
            if (!_pruned.ContainsKey(name)) continue;
            using var scope = NewDisposeScope();
            p.grad?.masked_fill_(PrunedOn(name, p.device), zero);
        }
    }

    /// <summary>Pruned weights of <paramref name="module"/> that are not exactly zero (0 when the mask holds).</summary>
    public long Violations(nn.Module module)
    {
        var state = module.state_dict();
        long count = 0;
        using var _ = no_grad();
        using var zero = 0.ToScalar();  // explicit, see Apply
        foreach (var name in Names)
        {
            using var scope = NewDisposeScope();
            var nonZero = state[name].ne(zero);
            count += nonZero.logical_and(PrunedOn(name, nonZero.device)).sum().item<long>();
        }
        return count;
    }

    /// <summary>Exact zeros among the prunable weights of <paramref name="module"/> (the mask plus any weight that happens to be 0).</summary>
    public static (long Zeros, long Total) CountZeros(nn.Module module)
    {
        var state = module.state_dict();
        long zeros = 0, total = 0;
        using var _ = no_grad();
        using var zero = 0.ToScalar();  // explicit, see Apply
        foreach (var name in PrunableNames(module))
        {
            using var scope = NewDisposeScope();
            zeros += state[name].eq(zero).sum().item<long>();
            total += state[name].numel();
        }
        return (zeros, total);
    }

    /// <summary>The mask as safetensors tensors (<c>name.mask</c>, BOOL, 1 = kept).</summary>
    public IEnumerable<(TensorInfo Info, byte[] Data)> ToTensors()
    {
        foreach (var name in Names)
        {
            var keep = _keep[name];
            yield return (new TensorInfo(name + Suffix, DType.Bool, _pruned[name].shape.ToArray()), keep.Select(k => k ? (byte)1 : (byte)0).ToArray());
        }
    }

    /// <summary>Writes <c>mask.safetensors</c> to <paramref name="path"/>.</summary>
    public void Write(string path) =>
        SafetensorsFile.Write(path, ToTensors(), new Dictionary<string, string> { ["format"] = "pt", ["soup_mask"] = "true = kept" });

    /// <summary>
    /// Reads a mask that <see cref="Write"/> wrote for a model of <paramref name="module"/>'s architecture (a resumed
    /// <see cref="SparseSoup"/> phase): one BOOL tensor per prunable weight, of that weight's shape, bytes 0 or 1.
    /// </summary>
    /// <exception cref="ModelSoupsException">The file is not such a mask (naming the file and the tensor).</exception>
    public static SparsityMask Read(string path, nn.Module module)
    {
        var names = PrunableNames(module);
        var state = module.state_dict();
        using var file = SafetensorsFile.Open(path);
        if (file.Tensors.Count != names.Count)
            throw new ModelSoupsException($"the mask has {file.Tensors.Count} tensor(s), the model {names.Count} prunable weight(s)", path);
        var keep = new List<bool[]>(names.Count);
        var shapes = new List<long[]>(names.Count);
        foreach (var name in names)
        {
            var t = file.Find(name + Suffix) ?? throw new ModelSoupsException($"the mask has no tensor '{name}{Suffix}'", path);
            var shape = state[name].shape;
            if (t.DType != DType.Bool || !t.Shape.AsSpan().SequenceEqual(shape))
                throw new ModelSoupsException($"'{PrintableName.Of(t.Name)}' is {t.DType} {t.Info.ShapeText}, not BOOL [{string.Join(", ", shape)}] like its weight", path);
            var bytes = t.GetBytes();
            var k = new bool[bytes.Length];
            for (int i = 0; i < bytes.Length; i++)
                k[i] = bytes[i] switch
                {
                    1 => true,
                    0 => false,
                    _ => throw new ModelSoupsException($"'{PrintableName.Of(t.Name)}' holds the byte {bytes[i]} at {i} (a BOOL is 0 or 1)", path),
                };
            keep.Add(k);
            shapes.Add(shape);
        }
        return new SparsityMask(names, keep, shapes);
    }

    // The mask lives on the CPU; a copy is made (and left to the GC) only for a model on another device.
    Tensor PrunedOn(string name, Device device)
    {
        var pruned = _pruned[name];
        return pruned.device_type == device.type && pruned.device_index == device.index ? pruned : pruned.to(device);
    }

    static float[] Floats(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
    }

    /// <summary>Releases the mask tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _pruned.Values) t.Dispose();
    }
}
