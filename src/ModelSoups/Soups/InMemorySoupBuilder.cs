using ModelSoups.Checkpoints;
using ModelSoups.Evaluation;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>
/// An <see cref="ISoupBuilder"/> over open checkpoints, holding the soup's <see cref="SoupAccumulator"/>
/// running sum in managed memory: the same sum, order and rounding as <c>soup merge --method linear</c> of the
/// members in join order, so its soups equal that command's output bit for bit. Float tensors of any writable
/// dtype are averaged; other tensors (e.g. BatchNorm's integer <c>num_batches_tracked</c>) follow
/// <see cref="SoupAccumulator.CopySource"/> with the soup's first member as the first model.
/// For evaluators that need a folder, candidates are written by <c>writeFolder</c> into a temporary
/// folder, deleted on <see cref="Discard"/>. Meant for small models and tests; the streaming engine
/// implements the same interface for large ones.
/// </summary>
public sealed class InMemorySoupBuilder : ISoupBuilder
{
    private readonly IReadOnlyList<Candidate> _ingredients;
    private readonly Action<ICheckpoint, string>? _writeFolder;
    private readonly string _tempRoot;
    private readonly TensorInfo[] _layout;
    private readonly Dictionary<string, Accumulation> _accumulation = new(StringComparer.Ordinal);
    private Dictionary<string, byte[]>? _sum;
    private int _first = -1;
    private int _count;
    private readonly TemporaryCandidateFolder _candidateFolder = new();

    /// <param name="ingredients">The ingredients, each open as a checkpoint, sharing names, shapes and dtypes.</param>
    /// <param name="writeFolder">Writes a checkpoint into an (existing, empty) folder; needed only for evaluators that need folders.</param>
    /// <param name="tempRoot">Where temporary candidate folders go; the system temp folder by default.</param>
    public InMemorySoupBuilder(IReadOnlyList<Candidate> ingredients, Action<ICheckpoint, string>? writeFolder = null, string? tempRoot = null)
    {
        ArgumentNullException.ThrowIfNull(ingredients);
        if (ingredients.Count == 0) throw new ModelSoupsException("a soup needs at least one ingredient.");
        _ingredients = ingredients;
        _writeFolder = writeFolder;
        _tempRoot = tempRoot ?? System.IO.Path.GetTempPath();
        IngredientNames = ingredients.Select(c => c.Name).ToArray();

        var first = ingredients[0].RequireCheckpoint("in-memory soup");
        _layout = first.Tensors.Values.Select(t => t.Info).ToArray();
        foreach (var info in _layout)
        {
            if (info.DType.IsFloat() && !info.DType.IsWritable())
                throw new ModelSoupsException($"tensor '{info.Name}' is {info.DType}, which cannot be written; convert the ingredients to a writable float dtype first.", first.Location);
            // Every ingredient has this dtype (checked below), and the soup is written in it.
            if (info.DType.IsFloat()) _accumulation[info.Name] = Accumulation.For(DType.F32, [info.DType], null, Enumerable.Repeat(1.0, ingredients.Count).ToList());
        }
        for (int i = 1; i < ingredients.Count; i++)
        {
            var other = ingredients[i].RequireCheckpoint("in-memory soup");
            if (other.Tensors.Count != _layout.Length)
                throw new ModelSoupsException($"ingredient '{ingredients[i].Name}' has {other.Tensors.Count} tensors, '{ingredients[0].Name}' has {_layout.Length}.", other.Location);
            foreach (var info in _layout)
            {
                if (!other.Tensors.TryGetValue(info.Name, out var t))
                    throw new ModelSoupsException($"ingredient '{ingredients[i].Name}' has no tensor '{info.Name}'.", other.Location);
                if (t.DType != info.DType || !t.Info.SameShape(info))
                    throw new ModelSoupsException($"tensor '{info.Name}' is {t.DType} {t.Info.ShapeText} in ingredient '{ingredients[i].Name}' but {info.DType} {info.ShapeText} in '{ingredients[0].Name}'.", other.Location);
            }
        }
    }

    /// <summary>
    /// The uniform soup of every ingredient — the first, then the others added in order — as an in-memory checkpoint:
    /// the same numbers as <c>soup merge --method linear</c> of the ingredients in that order.
    /// </summary>
    public static ICheckpoint Uniform(IReadOnlyList<Candidate> ingredients)
    {
        using var builder = new InMemorySoupBuilder(ingredients);
        builder.Start(0);
        for (int i = 1; i < ingredients.Count; i++) builder.Accept(i);
        return builder.CurrentSoup();
    }

    public IReadOnlyList<string> IngredientNames { get; }

    /// <summary>Members added so far (0 before <see cref="Start"/>).</summary>
    public int MemberCount => _count;

    public Candidate Ingredient(int index, bool needsFolder)
    {
        var c = _ingredients[index];
        return needsFolder && c.Folder is null ? Materialise(c.Name, c.Checkpoint!) : c;
    }

    public void Start(int index)
    {
        _first = index;
        _count = 1;
        _sum = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, accumulation) in _accumulation)
        {
            var sum = new byte[checked((int)(_ingredients[index].Checkpoint!.Tensors[name].ElementCount * accumulation.Size))];
            SoupAccumulator.Clear(accumulation, sum);
            _sum[name] = sum;
        }
        AddToSum(index);
    }

    public Candidate Propose(int index, bool needsFolder)
    {
        var sum = _sum ?? throw new InvalidOperationException("Propose before Start.");
        var name = $"soup of {_count} + {IngredientNames[index]}";
        var candidate = Mean(name, sum, _count, _ingredients[index].Checkpoint!);
        return needsFolder ? Materialise(name, candidate) : new Candidate(name, null, candidate);
    }

    /// <summary>The current soup (mean of its members) as an in-memory checkpoint.</summary>
    public ICheckpoint CurrentSoup() => Mean("soup", _sum ?? throw new InvalidOperationException("CurrentSoup before Start."), _count, null);

    public void Accept(int index)
    {
        if (_sum is null) throw new InvalidOperationException("Accept before Start.");
        AddToSum(index);
        _count++;
    }

    public void Discard() => _candidateFolder.Discard();

    public void Dispose() => Discard();

    private void AddToSum(int index)
    {
        var ckpt = _ingredients[index].Checkpoint!;
        foreach (var (name, sum) in _sum!)
        {
            var t = ckpt.Tensors[name];
            SoupAccumulator.Add(_accumulation[name], sum, DType.F32, t.DType, t.GetBytes(), 1.0);
        }
    }

    /// <summary>(sum + extra) / (count + 1), or sum / count without an extra.</summary>
    private CandidateCheckpoint Mean(string name, Dictionary<string, byte[]> sum, int count, ICheckpoint? extra)
    {
        var result = new CandidateCheckpoint(name);
        var firstCkpt = _ingredients[_first].Checkpoint!;
        foreach (var info in _layout)
        {
            if (!sum.TryGetValue(info.Name, out var s))
            {
                result.Add(info, SoupAccumulator.CopySource(null, firstCkpt.Tensors[info.Name]).GetBytes().ToArray());
                continue;
            }
            var mean = new byte[info.ByteLength];
            if (extra is null) SoupAccumulator.Mean(_accumulation[info.Name], s, DType.F32, count, info.DType, mean);
            else
            {
                var x = extra.Tensors[info.Name];
                SoupAccumulator.MeanWith(_accumulation[info.Name], s, DType.F32, x.DType, x.GetBytes(), 1.0, count + 1, info.DType, mean);
            }
            result.Add(info, mean);
        }
        return result;
    }

    private Candidate Materialise(string name, ICheckpoint checkpoint)
    {
        if (_writeFolder is null)
            throw new InvalidOperationException("The evaluator needs candidate folders but the soup builder was given no folder writer.");
        var folder = _candidateFolder.Next(_tempRoot, "modelsoups-candidate-");
        Directory.CreateDirectory(folder);
        _writeFolder(checkpoint, folder);
        return new Candidate(name, folder, checkpoint);
    }
}
