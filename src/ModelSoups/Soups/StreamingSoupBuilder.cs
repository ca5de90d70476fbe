using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Evaluation;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>
/// An <see cref="ISoupBuilder"/> over on-disk (memory-mapped) checkpoints of any size. The running sum of
/// the soup's float tensors is kept in f64, in memory when it fits half the memory budget, else in a
/// memory-mapped scratch file (so anonymous memory stays bounded for LLM-sized models); a candidate
/// mean(soup ∪ {ingredient}) is computed block by block from that sum and one more ingredient, never by
/// re-reading the soup's members. The sum is f64 and accumulated in the members' join order because that is
/// exactly what <c>linear</c> does (<see cref="Merging.Linear"/>: each value widened to f32 then f64, summed
/// in model order, divided by the count, rounded to f32, then to the output dtype), so a candidate equals
/// <c>soup merge --method linear</c> of the same members bit for bit.
/// Non-float tensors come from the base (when given and of the same dtype and shape), else from the soup's
/// first member (the best ingredient) — again as the merge plan does.
/// </summary>
public sealed unsafe class StreamingSoupBuilder : ISoupBuilder
{
    /// <summary>Elements processed at once.</summary>
    private const int Block = 1 << 20;

    private readonly IReadOnlyList<ICheckpoint> _ingredients;
    private readonly StreamingSoupOptions _options;
    private readonly TensorInfo[] _layout;
    private readonly Dictionary<string, long> _sumOffset = new(StringComparer.Ordinal);
    private readonly long _sumElements;
    private double* _sum;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private string? _scratchPath;
    private int _first = -1;
    private int _count;
    private string? _tempFolder;

    /// <param name="ingredients">Open ingredients (not owned), sharing tensor names and shapes.</param>
    /// <param name="names">Ingredient names, one per ingredient.</param>
    /// <param name="options">Base, output dtype, scratch folder, memory budget.</param>
    public StreamingSoupBuilder(IReadOnlyList<ICheckpoint> ingredients, IReadOnlyList<string> names, StreamingSoupOptions options)
    {
        ArgumentNullException.ThrowIfNull(ingredients);
        ArgumentNullException.ThrowIfNull(options);
        if (ingredients.Count == 0) throw new ModelSoupsException("a soup needs at least one ingredient.");
        if (names.Count != ingredients.Count) throw new ArgumentException("one name per ingredient.", nameof(names));
        _ingredients = ingredients;
        _options = options;
        IngredientNames = names.ToArray();

        var first = ingredients[0];
        var layout = new List<TensorInfo>();
        long offset = 0;
        foreach (var t in first.Tensors.Values)
        {
            bool allFloat = true;
            for (int i = 0; i < ingredients.Count; i++)
            {
                if (!ingredients[i].Tensors.TryGetValue(t.Name, out var o))
                    throw new ModelSoupsException($"ingredient '{names[i]}' has no tensor '{t.Name}', which '{names[0]}' has.", ingredients[i].Location);
                if (!o.Info.SameShape(t.Info))
                    throw new ModelSoupsException($"tensor '{t.Name}' is {o.Info.ShapeText} in ingredient '{names[i]}' but {t.Info.ShapeText} in '{names[0]}'.", ingredients[i].Location);
                allFloat &= o.DType.IsFloat();
            }
            if (!allFloat && ingredients.Any(c => c.Tensors[t.Name].DType != t.DType))
                throw new ModelSoupsException($"tensor '{t.Name}' is not a float tensor in every ingredient and its dtype differs between them.", first.Location);
            if (allFloat)
            {
                _sumOffset[t.Name] = offset;
                offset += t.ElementCount;
            }
            layout.Add(t.Info);
        }
        for (int i = 1; i < ingredients.Count; i++)
            if (ingredients[i].Tensors.Count != layout.Count)
            {
                var extra = ingredients[i].Tensors.Keys.First(n => !first.Tensors.ContainsKey(n));
                throw new ModelSoupsException($"ingredient '{names[i]}' has tensor '{extra}', which '{names[0]}' has not.", ingredients[i].Location);
            }
        if (layout.Count == 0) throw new ModelSoupsException("the ingredients have no tensors.", first.Location);
        _layout = [.. layout];
        _sumElements = offset;
    }

    public IReadOnlyList<string> IngredientNames { get; }

    /// <summary>Members added so far (0 before <see cref="Start"/>).</summary>
    public int MemberCount => _count;

    /// <summary>True when the running sum lives in a memory-mapped scratch file rather than in memory.</summary>
    public bool SumOnDisk => _map is not null;

    /// <summary>Bytes of the running sum (8 per float element).</summary>
    public long SumBytes => _sumElements * sizeof(double);

    public Candidate Ingredient(int index, bool needsFolder)
    {
        var c = _ingredients[index];
        if (!needsFolder || Directory.Exists(c.Location)) return new Candidate(IngredientNames[index], needsFolder ? c.Location : c.Folder, c);
        return Materialise(IngredientNames[index], index, extra: null, divisor: 0, asIngredient: true);
    }

    public void Start(int index)
    {
        AllocateSum();
        _first = index;
        _count = 0;
        ClearSum();
        AddToSum(index);
        _count = 1;
    }

    public Candidate Propose(int index, bool needsFolder)
    {
        if (_count == 0) throw new InvalidOperationException("Propose before Start.");
        var name = $"soup of {_count} + {IngredientNames[index]}";
        return needsFolder
            ? Materialise(name, _first, index, _count + 1, asIngredient: false)
            : new Candidate(name, null, InMemory(name, index, _count + 1));
    }

    /// <summary>The current soup, mean of its members, as a candidate (for baselines and final checks).</summary>
    public Candidate CurrentSoup(bool needsFolder)
    {
        if (_count == 0) throw new InvalidOperationException("CurrentSoup before Start.");
        var name = $"soup of {_count}";
        return needsFolder
            ? Materialise(name, _first, null, _count, asIngredient: false)
            : new Candidate(name, null, InMemory(name, null, _count));
    }

    public void Accept(int index)
    {
        if (_count == 0) throw new InvalidOperationException("Accept before Start.");
        AddToSum(index);
        _count++;
    }

    public void Discard()
    {
        if (_tempFolder is null) return;
        if (Directory.Exists(_tempFolder)) Directory.Delete(_tempFolder, recursive: true);
        _tempFolder = null;
    }

    public void Dispose()
    {
        Discard();
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _map!.Dispose();
            _view = null;
            _map = null;
            if (_scratchPath is not null && File.Exists(_scratchPath)) File.Delete(_scratchPath);
        }
        else if (_sum is not null)
        {
            NativeMemory.Free(_sum);
        }
        _sum = null;
    }

    private void AllocateSum()
    {
        if (_sum is not null) return;
        long bytes = Math.Max(SumBytes, sizeof(double));
        if (bytes <= _options.MemoryBudgetBytes / 2)
        {
            _sum = (double*)NativeMemory.Alloc((nuint)bytes);
            return;
        }
        // A file-backed mapping: the kernel writes pages back instead of the process holding them as
        // anonymous memory, so the sum of a 7B model (56 GB in f64) does not need 56 GB of RAM.
        Directory.CreateDirectory(_options.ScratchFolder);
        _scratchPath = Path.Combine(_options.ScratchFolder, $"soup-sum-{Guid.NewGuid():N}.f64");
        _map = MemoryMappedFile.CreateFromFile(_scratchPath, FileMode.CreateNew, null, bytes, MemoryMappedFileAccess.ReadWrite);
        _view = _map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _sum = (double*)(p + _view.PointerOffset);
    }

    private void ClearSum()
    {
        for (long s = 0; s < _sumElements; s += Block)
            new Span<double>(_sum + s, (int)Math.Min(Block, _sumElements - s)).Clear();
    }

    /// <summary>sum += f64(f32(ingredient)), the same operation order as <see cref="Merging.Linear"/>.</summary>
    private void AddToSum(int index)
    {
        var ckpt = _ingredients[index];
        var buffer = new float[Block];
        foreach (var (name, offset) in _sumOffset)
        {
            var t = ckpt.Tensors[name];
            int size = t.DType.Size();
            for (long s = 0; s < t.ElementCount; s += Block)
            {
                int n = (int)Math.Min(Block, t.ElementCount - s);
                var f = buffer.AsSpan(0, n);
                DTypeConversion.ToCompute(t.DType, t.GetBytes(s * size, n * size), f);
                var sum = new Span<double>(_sum + offset + s, n);
                for (int j = 0; j < n; j++) sum[j] += 1.0 * f[j];
            }
        }
    }

    /// <summary>The bytes of a non-float tensor: from the base when it matches, else the first member.</summary>
    private TensorRef CopySource(TensorInfo info, int first)
    {
        var own = _ingredients[first].Tensors[info.Name];
        if (_options.Base?.Tensors.GetValueOrDefault(info.Name) is { } b && b.DType == own.DType && b.Info.SameShape(own.Info)) return b;
        return own;
    }

    private IEnumerable<TensorInfo> OutputLayout(int first, bool asIngredient) =>
        _layout.Select(i => _sumOffset.ContainsKey(i.Name) && !asIngredient
            ? new TensorInfo(i.Name, OutTypeFor(i, first), i.Shape)
            : asIngredient ? _ingredients[first].Tensors[i.Name].Info : i);

    private DType OutTypeFor(TensorInfo info, int first)
    {
        var t = _options.OutDType ?? _ingredients[first].Tensors[info.Name].DType;
        return t.IsWritable() ? t : DType.F32;
    }

    /// <summary>
    /// Writes one float tensor of (sum + extra) / divisor, or the ingredient <paramref name="first"/> itself,
    /// through <paramref name="write"/> (byte offset, bytes), block by block.
    /// </summary>
    private void Produce(TensorInfo output, int first, int? extra, int divisor, bool asIngredient, Action<long, ReadOnlySpan<byte>> write, float[] f, byte[] bytes)
    {
        if (asIngredient || !_sumOffset.TryGetValue(output.Name, out var offset))
        {
            var src = asIngredient ? _ingredients[first].Tensors[output.Name] : CopySource(output, first);
            const int CopyBlock = 64 << 20;
            for (long off = 0; off < src.ByteLength; off += CopyBlock)
                write(off, src.GetBytes(off, (int)Math.Min(CopyBlock, src.ByteLength - off)));
            return;
        }
        var extraRef = extra is { } e ? _ingredients[e].Tensors[output.Name] : null;
        int outSize = output.DType.Size();
        double div = divisor;
        for (long s = 0; s < output.ElementCount; s += Block)
        {
            int n = (int)Math.Min(Block, output.ElementCount - s);
            var sum = new ReadOnlySpan<double>(_sum + offset + s, n);
            var mean = f.AsSpan(0, n);
            if (extraRef is null)
            {
                for (int j = 0; j < n; j++) mean[j] = (float)(sum[j] / div);
            }
            else
            {
                int size = extraRef.DType.Size();
                DTypeConversion.ToCompute(extraRef.DType, extraRef.GetBytes(s * size, n * size), mean);
                for (int j = 0; j < n; j++) mean[j] = (float)((sum[j] + 1.0 * mean[j]) / div);
            }
            var outBytes = bytes.AsSpan(0, n * outSize);
            DTypeConversion.FromCompute<float>(mean, output.DType, outBytes);
            write(s * outSize, outBytes);
        }
    }

    private Candidate Materialise(string name, int first, int? extra, int divisor, bool asIngredient)
    {
        Discard();
        Directory.CreateDirectory(_options.ScratchFolder);
        var folder = Path.Combine(_options.ScratchFolder, "candidate-" + Guid.NewGuid().ToString("N"));
        var infos = OutputLayout(first, asIngredient).ToList();
        var f = new float[Block];
        var bytes = new byte[Block * sizeof(double)];
        using (var writer = CheckpointWriter.Create(folder, infos, new CheckpointWriterOptions(_options.MaxShardBytes, new Dictionary<string, string> { ["format"] = "pt" })))
        {
            foreach (var info in infos)
                Produce(info, first, extra, divisor, asIngredient, (off, b) => writer.Write(info.Name, off, b), f, bytes);
            var config = _options.ConfigSource ?? _ingredients[first].Folder;
            if (config is not null && Directory.Exists(config))
                foreach (var side in MergeEngine.SideFiles)
                {
                    var path = Path.Combine(config, side);
                    if (File.Exists(path)) writer.CopyFile(path, side);
                }
            writer.Commit();
        }
        _tempFolder = folder;
        return new Candidate(name, folder, null);
    }

    private CandidateCheckpoint InMemory(string name, int? extra, int divisor)
    {
        var result = new CandidateCheckpoint(name);
        var f = new float[Block];
        var bytes = new byte[Block * sizeof(double)];
        foreach (var info in OutputLayout(_first, asIngredient: false))
        {
            var data = new byte[info.ByteLength];
            Produce(info, _first, extra, divisor, false, (off, b) => b.CopyTo(data.AsSpan(checked((int)off))), f, bytes);
            result.Add(info, data);
        }
        return result;
    }
}
