using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Evaluation;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>
/// An <see cref="ISoupBuilder"/> over on-disk (memory-mapped) checkpoints of any size: the storage of a
/// <see cref="SoupAccumulator"/> running sum. The sum of the soup's float tensors (in each tensor's
/// accumulation dtype) is kept in memory when it fits half the memory budget, else in a memory-mapped
/// scratch file (so anonymous memory stays bounded for LLM-sized models); a candidate mean(soup ∪ {ingredient})
/// is computed block by block from that sum and one more ingredient, never by re-reading the soup's members.
/// Members are added in join order with weight 1, which is what <c>linear</c> does with the members listed in
/// that order, so a candidate equals <c>soup merge --method linear</c> of the same members bit for bit (the
/// accumulation dtype is chosen from every ingredient's dtype, so this holds when all ingredients share the
/// members' dtypes). Non-float tensors follow <see cref="SoupAccumulator.CopySource"/> with the soup's first
/// member (the best ingredient) as the first model.
/// </summary>
public sealed unsafe class StreamingSoupBuilder : ISoupBuilder
{
    /// <summary>Elements processed at once.</summary>
    private const int Block = 1 << 20;

    // Ingredient bytes are read positionally into this (never through the mappings): an ingredient truncated by
    // another process is an EnvironmentFaultException naming it, not SIGBUS. One builder is used by one thread.
    private readonly byte[] _stage = new byte[Block * sizeof(double)];

    private readonly IReadOnlyList<ICheckpoint> _ingredients;
    private readonly StreamingSoupOptions _options;
    private readonly TensorInfo[] _layout;
    private readonly Dictionary<string, (long Offset, Accumulation Accumulation)> _sumOffset = new(StringComparer.Ordinal);
    private readonly long _sumBytes;
    private byte* _sum;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private string? _scratchPath;
    private int _first = -1;
    private int _count;
    private readonly TemporaryCandidateFolder _candidateFolder = new();

    /// <param name="ingredients">Open ingredients (not owned), sharing tensor names and shapes (checked: <see cref="IngredientLineup.Check"/>).</param>
    /// <param name="names">Ingredient names, one per ingredient.</param>
    /// <param name="options">Base, output dtype, scratch folder, memory budget.</param>
    public StreamingSoupBuilder(IReadOnlyList<ICheckpoint> ingredients, IReadOnlyList<string> names, StreamingSoupOptions options)
        : this(IngredientLineup.Check(ingredients, names), options)
    {
    }

    /// <param name="lineup">Ingredients already checked to line up (the run checks them once for all its builders and its final write).</param>
    /// <param name="options">Base, output dtype, scratch folder, memory budget.</param>
    public StreamingSoupBuilder(IngredientLineup lineup, StreamingSoupOptions options)
    {
        ArgumentNullException.ThrowIfNull(lineup);
        ArgumentNullException.ThrowIfNull(options);
        var ingredients = lineup.Ingredients;
        _ingredients = ingredients;
        _options = options;
        Lineup = lineup;
        IngredientNames = lineup.Names.ToArray();

        var first = ingredients[0];
        var layout = new List<TensorInfo>();
        long offset = 0;
        foreach (var t in first.Tensors.Values)
        {
            var dtypes = ingredients.Select(c => c.Tensors[t.Name].DType).ToList();
            if (dtypes.All(d => d.IsFloat()))
            {
                var output = options.OutDType ?? (dtypes.All(d => d.IsWritable()) ? null : DType.F32);
                var accumulation = Accumulation.For(DType.F32, dtypes, output, Enumerable.Repeat(1.0, ingredients.Count).ToList());
                _sumOffset[t.Name] = (offset, accumulation);
                offset += t.ElementCount * accumulation.Size;
            }
            layout.Add(t.Info);
        }
        _layout = [.. layout];
        _sumBytes = offset;
    }

    /// <summary>The checked ingredients this builder sums.</summary>
    public IngredientLineup Lineup { get; }

    public IReadOnlyList<string> IngredientNames { get; }

    /// <summary>Members added so far (0 before <see cref="Start"/>).</summary>
    public int MemberCount => _count;

    /// <summary>True when the running sum lives in a memory-mapped scratch file rather than in memory.</summary>
    public bool SumOnDisk => _map is not null;

    /// <summary>Bytes of the running sum (4 or 8 per float element, by <see cref="Accumulation.For"/>).</summary>
    public long SumBytes => _sumBytes;

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

    public void Discard() => _candidateFolder.Discard();

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
            _sum = (byte*)NativeMemory.Alloc((nuint)bytes);
            return;
        }
        // A file-backed mapping: the kernel writes pages back instead of the process holding them as
        // anonymous memory, so the sum of a 7B model (56 GB in f64) does not need 56 GB of RAM.
        Directory.CreateDirectory(_options.ScratchFolder);
        _scratchPath = Path.Combine(_options.ScratchFolder, $"soup-sum-{Guid.NewGuid():N}.bin");
        _map = MemoryMappedFile.CreateFromFile(_scratchPath, FileMode.CreateNew, null, bytes, MemoryMappedFileAccess.ReadWrite);
        _view = _map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _sum = p + _view.PointerOffset;
    }

    private void ClearSum()
    {
        foreach (var (name, (offset, accumulation)) in _sumOffset)
        {
            long bytes = _ingredients[0].Tensors[name].ElementCount * accumulation.Size;
            for (long s = 0; s < bytes; s += Block * sizeof(double))
                SoupAccumulator.Clear(accumulation, new Span<byte>(_sum + offset + s, (int)Math.Min(Block * sizeof(double), bytes - s)));
        }
    }

    /// <summary>sum += ingredient, tensor by tensor, block by block (weight 1, in join order, as <c>linear</c> adds models).</summary>
    private void AddToSum(int index)
    {
        var ckpt = _ingredients[index];
        foreach (var (name, (offset, accumulation)) in _sumOffset)
        {
            var t = ckpt.Tensors[name];
            int size = t.DType.Size(), accSize = accumulation.Size;
            for (long s = 0; s < t.ElementCount; s += Block)
            {
                int n = (int)Math.Min(Block, t.ElementCount - s);
                var sum = new Span<byte>(_sum + offset + s * accSize, n * accSize);
                var stage = _stage.AsSpan(0, n * size);
                t.ReadInto(s * size, stage);
                SoupAccumulator.Add(accumulation, sum, DType.F32, t.DType, stage, 1.0);
            }
        }
    }

    /// <summary>The bytes of a non-float tensor: the one rule, with the soup's first member as the first model.</summary>
    private TensorRef CopySource(TensorInfo info, int first) =>
        SoupAccumulator.CopySource(_options.Base?.Tensors.GetValueOrDefault(info.Name), _ingredients[first].Tensors[info.Name]);

    private IEnumerable<TensorInfo> OutputLayout(int first, bool asIngredient) =>
        _layout.Select(i => _sumOffset.ContainsKey(i.Name) && !asIngredient
            ? new TensorInfo(i.Name, OutTypeFor(i, first), i.Shape)
            : asIngredient ? _ingredients[first].Tensors[i.Name].Info : i);

    private DType OutTypeFor(TensorInfo info, int first) => (_options.OutDType ?? _ingredients[first].Tensors[info.Name].DType).WritableOrF32();

    /// <summary>
    /// Writes one float tensor of (sum + extra) / divisor, or the ingredient <paramref name="first"/> itself,
    /// through <paramref name="write"/> (byte offset, bytes), block by block.
    /// </summary>
    private void Produce(TensorInfo output, int first, int? extra, int divisor, bool asIngredient, Action<long, ReadOnlySpan<byte>> write, byte[] bytes)
    {
        if (asIngredient || !_sumOffset.TryGetValue(output.Name, out var offset))
        {
            var src = asIngredient ? _ingredients[first].Tensors[output.Name] : CopySource(output, first);
            for (long off = 0; off < src.ByteLength; off += _stage.Length)
            {
                var stage = _stage.AsSpan(0, (int)Math.Min(_stage.Length, src.ByteLength - off));
                src.ReadInto(off, stage);
                write(off, stage);
            }
            return;
        }
        var (sumOffset, accumulation) = offset;
        var extraRef = extra is { } e ? _ingredients[e].Tensors[output.Name] : null;
        int outSize = output.DType.Size(), accSize = accumulation.Size;
        for (long s = 0; s < output.ElementCount; s += Block)
        {
            int n = (int)Math.Min(Block, output.ElementCount - s);
            var sum = new ReadOnlySpan<byte>(_sum + sumOffset + s * accSize, n * accSize);
            var outBytes = bytes.AsSpan(0, n * outSize);
            if (extraRef is null)
                SoupAccumulator.Mean(accumulation, sum, DType.F32, divisor, output.DType, outBytes);
            else
            {
                int size = extraRef.DType.Size();
                var stage = _stage.AsSpan(0, n * size);
                extraRef.ReadInto(s * size, stage);
                SoupAccumulator.MeanWith(accumulation, sum, DType.F32, extraRef.DType, stage, 1.0, divisor, output.DType, outBytes);
            }
            write(s * outSize, outBytes);
        }
    }

    private Candidate Materialise(string name, int first, int? extra, int divisor, bool asIngredient)
    {
        var folder = _candidateFolder.Next(_options.ScratchFolder, "candidate-");
        var infos = OutputLayout(first, asIngredient).ToList();
        var bytes = new byte[Block * sizeof(double)];
        using (var writer = CheckpointWriter.Create(folder, infos, new CheckpointWriterOptions(_options.MaxShardBytes, new Dictionary<string, string> { ["format"] = "pt" })))
        {
            foreach (var info in infos)
                Produce(info, first, extra, divisor, asIngredient, (off, b) => writer.Write(info.Name, off, b), bytes);
            var config = _options.ConfigSource ?? _ingredients[first].Folder;
            if (config is not null && Directory.Exists(config))
                foreach (var side in MergeEngine.SideFiles)
                {
                    var path = Path.Combine(config, side);
                    if (File.Exists(path)) writer.CopyFile(path, side);
                }
            writer.Commit();
        }
        return new Candidate(name, folder, null);
    }

    private CandidateCheckpoint InMemory(string name, int? extra, int divisor)
    {
        var result = new CandidateCheckpoint(name);
        var bytes = new byte[Block * sizeof(double)];
        foreach (var info in OutputLayout(_first, asIngredient: false))
        {
            var data = new byte[info.ByteLength];
            Produce(info, _first, extra, divisor, false, (off, b) => b.CopyTo(data.AsSpan(checked((int)off))), bytes);
            result.Add(info, data);
        }
        return result;
    }
}
