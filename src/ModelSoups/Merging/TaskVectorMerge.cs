using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelSoups.Tensors.Kernels;

namespace ModelSoups.Merging;

/// <summary>
/// The task-vector family (task arithmetic, TIES, DARE, Breadcrumbs, DELLA), as mergekit's
/// <c>GeneralizedTaskArithmeticMerge</c> composes it: per tensor, each τ_i = θ_i − θ_0 is sparsified
/// (<see cref="TaskVectorSparsifier{T}"/>), optionally rescaled to keep its L1 norm
/// (<see cref="L1Rescale"/>), weighted, and combined by a weighted sum or by sign consensus
/// (<see cref="SignConsensus"/>); normalised, scaled by λ, added to the base. Each method is a
/// choice of sparsification, consensus and defaults; its values reach the formula as one
/// <see cref="TaskVectorParameters"/> record, built when the plan validates them.
/// </summary>
public abstract class TaskVectorMerge : MergeMethod<TaskVectorParameters>
{
    const int Chunk = 256;

    /// <summary>The sparsification this method applies.</summary>
    protected abstract TaskVectorSparsification Sparsification { get; }

    /// <summary>The sparsification for these parameters (task arithmetic switches trimming on with <c>trim</c>).</summary>
    protected virtual TaskVectorSparsification SparsificationFor(MergeParameters p) => Sparsification;

    /// <summary>True for sign election and disjoint mean; false for a weighted sum.</summary>
    protected abstract bool UsesSignConsensus { get; }

    /// <summary>mergekit's default of <c>normalize</c> for this method.</summary>
    protected abstract bool DefaultNormalize { get; }

    /// <summary>mergekit's default of <c>rescale</c> for this method.</summary>
    protected abstract bool DefaultRescale { get; }

    bool Randomised => Sparsification is TaskVectorSparsification.Random or TaskVectorSparsification.DellaMagnitudeRanked;

    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;

    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters => _parameters ??= BuildParameters();
    IReadOnlyList<MergeParameterDef>? _parameters;

    /// <summary>Parameters beyond the family's (e.g. task arithmetic's <c>trim</c>).</summary>
    protected virtual IEnumerable<MergeParameterDef> MoreParameters => [];

    IReadOnlyList<MergeParameterDef> BuildParameters()
    {
        var list = new List<MergeParameterDef>
        {
            WeightDef,
            DensityDef(Sparsification switch
            {
                TaskVectorSparsification.Random => "Probability of keeping each task-vector entry.",
                TaskVectorSparsification.DellaMagnitudeRanked => "Mean probability of keeping each task-vector entry (larger magnitudes more likely).",
                TaskVectorSparsification.MagnitudeOutliers => "Fraction of entries kept after the gamma outliers (next largest magnitudes).",
                TaskVectorSparsification.None => "Ignored, as in mergekit, unless trim: true keeps this fraction of largest magnitudes.",
                _ => "Fraction of largest-magnitude task-vector entries kept per tensor (1 keeps all).",
            }),
            LambdaDef,
            new("normalize", ParameterScope.Global, ParameterKind.Flag, DefaultNormalize,
                UsesSignConsensus ? "Divide by the sum of the agreeing weights (ties_variant mergekit)." : "Divide the weighted sum by the sum of weights."),
            new("rescale", ParameterScope.Global, ParameterKind.Flag, DefaultRescale,
                "Rescale each sparsified task vector (mergekit: to keep its L1 norm)."),
        };
        if (Randomised)
            list.Add(new("rescale_by", ParameterScope.Global, ParameterKind.Choice, "l1",
                "With rescale: l1 keeps each task vector's L1 norm (mergekit); keep_probability divides survivors by their keep probability (the DARE/DELLA papers' 1/p).")
            { Choices = ["l1", "keep_probability"] });
        if (Sparsification == TaskVectorSparsification.MagnitudeOutliers)
        {
            list.Add(new("gamma", ParameterScope.PerModel, ParameterKind.Number, 0.01, "Fraction of largest-magnitude entries dropped as outliers.") { Min = 0, Max = 1, MaxInclusive = false });
            list.Add(new("granularity", ParameterScope.Global, ParameterKind.Choice, "tensor", "Where fractions are counted: per tensor (mergekit) or per row (last dimension, the Breadcrumbs code).") { Choices = ["tensor", "row"] });
        }
        if (Sparsification == TaskVectorSparsification.DellaMagnitudeRanked)
            list.Add(new("epsilon", ParameterScope.PerModel, ParameterKind.Number, 0.15, "Spread of the keep probabilities: density − ε for the smallest entry of a row … density + ε for the largest.") { Min = 0, Max = 1, MaxInclusive = false });
        if (UsesSignConsensus)
        {
            list.Add(new("majority_sign_method", ParameterScope.Global, ParameterKind.Choice, "total", "Sign election: sign of the sum (total, mergekit sum) or of the count of signs (frequency, mergekit count).") { Choices = ["total", "frequency"] });
            list.Add(new("ties_variant", ParameterScope.Global, ParameterKind.Choice, "mergekit", "mergekit: elect from weighted vectors, divide by the agreeing weights (if normalize); peft: elect from unweighted vectors, divide by the agreeing count (PEFT, TIES paper).") { Choices = ["mergekit", "peft"] });
        }
        list.AddRange(MoreParameters);
        return list;
    }

    /// <inheritdoc/>
    protected override TaskVectorParameters Bind(MergeParameters p)
    {
        int k = p.ModelCount;
        double[] PerModel(string name, bool declared) => [.. Enumerable.Range(0, k).Select(i => declared ? p.Number(name, i) : 0)];
        bool outliers = Sparsification == TaskVectorSparsification.MagnitudeOutliers;
        bool della = Sparsification == TaskVectorSparsification.DellaMagnitudeRanked;
        return new TaskVectorParameters(
            Weights: PerModel("weight", true),
            Densities: PerModel("density", true),
            Lambda: p.Number("lambda"),
            Normalize: p.Flag("normalize"),
            Rescale: p.Flag("rescale"),
            Sparsification: SparsificationFor(p),
            RescaleByKeepProbability: Randomised && p.Choice("rescale_by") == "keep_probability",
            Gammas: PerModel("gamma", outliers),
            RowGranularity: outliers && p.Choice("granularity") == "row",
            Epsilons: PerModel("epsilon", della),
            ElectByCount: UsesSignConsensus && p.Choice("majority_sign_method") == "frequency",
            MergekitVariant: UsesSignConsensus && p.Choice("ties_variant") == "mergekit");
    }

    /// <inheritdoc/>
    protected override void ValidateParameters(TaskVectorParameters p, bool hasBase, string where)
    {
        if (p.Sparsification != TaskVectorSparsification.DellaMagnitudeRanked) return;
        for (int i = 0; i < p.ModelCount; i++)
        {
            double d = p.Densities[i], e = p.Epsilons[i];
            // mergekit della_magprune: "Epsilon must be chosen such that density +/- epsilon is in (0, 1)".
            if (d < 1 && (d + e >= 1 || d - e <= 0))
                throw new ModelSoupsException($"{Name}: density ± epsilon of model {i} ({d} ± {e}) must lie inside (0, 1){where}; lower epsilon.");
        }
    }

    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters)
    {
        var p = Typed(parameters);
        if (p.Sparsification == TaskVectorSparsification.None) return true;
        // mergekit's sparsifiers return the task vector untouched at density ≥ 1 (the row-wise
        // Breadcrumbs of the paper still drops outliers there).
        if (p.AllDense && !p.RowOutliers) return true;
        return p.Sparsification == TaskVectorSparsification.Random && !p.RescaleL1;
    }

    /// <inheritdoc/>
    public override long ScratchElements(long elementCount, int modelCount) =>
        // Magnitudes of one segment, one chunk of task vectors per model, the f32 rank cut's histogram;
        elementCount + (long)modelCount * Chunk + RankCut<float>.ScratchElementsFor(elementCount)
        // DELLA: one keep probability per element of a row per model (a row can be the whole tensor),
        // two sort keys of 8 bytes per element of a row (f64: and a (value, index) pair), and one recorded
        // keep bit per element per model (whole 8-byte words, counted in 4-byte elements).
        + (Sparsification == TaskVectorSparsification.DellaMagnitudeRanked ? (long)modelCount * elementCount + 4 * elementCount + (long)modelCount * (elementCount / 32 + 2) : 0);

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, TaskVectorParameters p, Span<T> output)
    {
        int k = p.ModelCount, n = output.Length;
        if (typeof(T) == typeof(float) && FusedTiesApplies(p))
        {
            // TIES' common case: shared cut pass, then trim, election and disjoint mean fused (same bits, FusedTiesTests).
            var models = new ReadOnlyMemory<float>[k];
            for (int i = 0; i < k; i++)
            {
                var model = input.Models[i];
                models[i] = Unsafe.As<ReadOnlyMemory<T>, ReadOnlyMemory<float>>(ref model);
            }
            FusedTiesMerge<float, SingleStorage>(models, MemoryMarshal.Cast<T, float>(input.Base.Span), p, input.Scratch, MemoryMarshal.Cast<T, float>(output));
            return;
        }
        var b = input.Base.Span;
        var kind = p.Sparsification;
        bool rowOutliers = p.RowOutliers;
        bool rescaleL1 = p.RescaleL1;
        bool divideByKeep = p.Rescale && p.RescaleByKeepProbability;

        // Segments: rows (last dimension) for row-wise Breadcrumbs and DELLA (mergekit ranks along
        // dim 1 of a 2-D tensor; a 1-D tensor is one row), else the whole tensor.
        int segment = n;
        if ((rowOutliers || kind == TaskVectorSparsification.DellaMagnitudeRanked) && input.Shape.Length >= 2 && input.Shape[^1] > 0)
            segment = (int)Math.Min(n, input.Shape[^1]);

        var w = new T[k];
        var sparsifiers = new TaskVectorSparsifier<T>[k];
        for (int i = 0; i < k; i++)
        {
            w[i] = T.CreateChecked(p.Weights[i]);
            double density = p.Densities[i];
            var own = density >= 1 && !rowOutliers ? TaskVectorSparsification.None : kind;
            sparsifiers[i] = new TaskVectorSparsifier<T>(own, density, p.Gammas[i], p.Epsilons[i],
                MergeSeed.ForModel(input.Seed, i), divideByKeep, segment, input.Scratch);
        }
        T lambda = T.CreateChecked(p.Lambda);
        bool normalize = p.Normalize;
        bool count = p.ElectByCount;
        bool mergekit = p.MergekitVariant;

        // Sum-of-weights divisor without consensus (mergekit: |Σw| < 1e-8 → 1).
        T weightSum = T.Zero;
        foreach (var wi in w) weightSum += wi;
        T sumDivisor = normalize && T.Abs(weightSum) >= T.CreateChecked(1e-8) ? weightSum : T.One;

        bool needScratch = sparsifiers.Any(s => s.NeedsScratch);
        var scratch = needScratch ? input.Scratch.Take<T>(Math.Max(segment, 1)) : default;
        var vals = input.Scratch.Take<T>(k * Chunk);
        var factor = new T[k];
        for (int i = 0; i < k; i++)
        {
            if (!rescaleL1) { factor[i] = T.One; continue; }
            sparsifiers[i].RecordForReplay(n);
            factor[i] = L1Factor(sparsifiers[i], input.Models[i].Span, b, input.Offset, segment, scratch, vals[..Chunk]);
            sparsifiers[i].Replay();
        }

        Span<T> v = k <= 64 ? stackalloc T[k] : new T[k];
        for (int s = 0; s < n; s += segment)
        {
            int len = Math.Min(segment, n - s);
            for (int i = 0; i < k; i++) sparsifiers[i].BeginSegment(input.Models[i].Span.Slice(s, len), b.Slice(s, len), scratch);
            // Chunks of C elements: each model's kept deltas go to row i of `vals`, then each column is combined.
            for (int c = s; c < s + len; c += Chunk)
            {
                int cl = Math.Min(Chunk, s + len - c);
                var bc = b.Slice(c, cl);
                for (int i = 0; i < k; i++)
                {
                    var row = vals.Slice(i * Chunk, cl);
                    sparsifiers[i].Fill(input.Models[i].Span.Slice(c, cl), bc, input.Offset + c, row);
                    if (factor[i] != T.One) foreach (ref var x in row) x *= factor[i];
                }
                if (typeof(T) == typeof(float) && UsesSignConsensus && !count)
                {
                    SignConsensus.DisjointSingle(MemoryMarshal.Cast<T, float>(vals[..(k * Chunk)]), k, Chunk, MemoryMarshal.Cast<T, float>(w.AsSpan()),
                        MemoryMarshal.Cast<T, float>(bc), float.CreateTruncating(lambda), mergekit, normalize, MemoryMarshal.Cast<T, float>(output.Slice(c, cl)));
                    continue;
                }
                for (int jj = 0; jj < cl; jj++)
                {
                    for (int i = 0; i < k; i++) v[i] = vals[i * Chunk + jj];
                    output[c + jj] = bc[jj] + lambda * (UsesSignConsensus
                        ? SignConsensus.Disjoint<T>(v, w, count, mergekit, normalize)
                        : SignConsensus.WeightedSum<T>(v, w) / sumDivisor);
                }
            }
        }
    }

    // The fused kernel covers sum election over plain top-k trims of the whole tensor without rescaling (TIES' common
    // case); anything else (count election, outliers, random drops, DELLA, L1 rescale, row segments) takes the chunked path.
    bool FusedTiesApplies(TaskVectorParameters p) =>
        UsesSignConsensus && !p.ElectByCount && !p.RescaleL1 && FusedTies.Supported
        && p.Sparsification is TaskVectorSparsification.Magnitude or TaskVectorSparsification.None;

    /// <summary>
    /// Whether <see cref="MergeBFloat16"/> computes this merge (TIES' fused case: sum election over plain top-k trims of
    /// whole tensors, no rescale), so that the engine may hand the method a checkpoint's bf16 values as they are.
    /// </summary>
    internal bool MergesBFloat16(MergeParameters parameters) => FusedTiesApplies(Typed(parameters));

    /// <summary>
    /// This method with the inputs and the output stored as bf16 bits, for the engine (where <see cref="MergesBFloat16"/>;
    /// parameters validated by the plan): exactly what the f32 merge of the widened inputs gives, rounded to bf16 as the
    /// conversion rounds it (widening is exact and the kernels run the f32 operations; <c>FusedTiesTests</c>).
    /// <paramref name="scratch"/> as the method declares it (<see cref="ScratchElements"/>).
    /// </summary>
    internal void MergeBFloat16(ReadOnlyMemory<ushort>[] models, ReadOnlyMemory<ushort> b, MergeParameters parameters, MergeScratch scratch, Span<ushort> output)
    {
        var p = Typed(parameters);
        if (!FusedTiesApplies(p) || models.Length != p.ModelCount)
            throw new InvalidOperationException($"{Name}: the bf16 path was asked for a merge it does not cover");
        FusedTiesMerge<ushort, BFloat16Storage>(models, b.Span, p, scratch, output);
    }

    /// <summary>
    /// TIES' fused case on inputs stored as f32 or bf16: every model's top-k cut in one pass that reads the base once
    /// (<see cref="RankCut{T}.FindOfDifferences"/>), then trim, election and disjoint mean in one more (<see cref="FusedTies"/>);
    /// the same cuts and the same bits as sparsifying each model (<see cref="TaskVectorSparsifier{T}"/>) and combining in chunks.
    /// </summary>
    void FusedTiesMerge<TValue, TStorage>(ReadOnlyMemory<TValue>[] models, ReadOnlySpan<TValue> b, TaskVectorParameters p, MergeScratch scratch, Span<TValue> output)
        where TValue : unmanaged where TStorage : struct, IFloatStorage<TValue>
    {
        int k = models.Length, n = output.Length;
        Span<long> ranks = k <= 64 ? stackalloc long[k] : new long[k];
        var w = new float[k];
        for (int i = 0; i < k; i++)
        {
            double density = p.Densities[i];
            // PEFT/mergekit: k = int(density · numel), computed in double like Python; density ≥ 1 (or no trim) keeps all.
            ranks[i] = p.Sparsification == TaskVectorSparsification.None || density >= 1 ? n : (long)(density * n);
            w[i] = (float)p.Weights[i];
        }
        var cuts = new RankCut<float>[k];
        long mark = scratch.Mark();
        RankCut<float>.FindOfDifferences<TValue, TStorage>(models, b, ranks, scratch.Take<float>(n), scratch, cuts);
        scratch.Release(mark);
        FusedTies.Run<TValue, TStorage>(models, b, cuts, w, (float)p.Lambda, p.MergekitVariant, p.Normalize, output);
    }

    // First pass of mergekit's L1 rescale: ‖τ‖₁ and ‖τ̂‖₁ over the whole tensor (the sparsifier
    // is deterministic, so the main pass reproduces the same τ̂).
    static T L1Factor<T>(TaskVectorSparsifier<T> sp, ReadOnlySpan<T> m, ReadOnlySpan<T> b, long offset, int segment, Span<T> scratch, Span<T> row)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double before = 0, after = 0;
        int n = m.Length;
        for (int s = 0; s < n; s += segment)
        {
            int len = Math.Min(segment, n - s);
            sp.BeginSegment(m.Slice(s, len), b.Slice(s, len), scratch);
            for (int c = s; c < s + len; c += Chunk)
            {
                int cl = Math.Min(Chunk, s + len - c);
                var r = row[..cl];
                sp.Fill(m.Slice(c, cl), b.Slice(c, cl), offset + c, r);
                for (int j = 0; j < cl; j++)
                {
                    before += double.CreateChecked(T.Abs(m[c + j] - b[c + j]));
                    after += double.CreateChecked(T.Abs(r[j]));
                }
            }
        }
        return L1Rescale.Factor<T>(before, after);
    }

    /// <summary>The --plan line of the Breadcrumbs methods.</summary>
    protected static string BreadcrumbsNote(MergeParameters p, string combine) => p.Choice("granularity") == "row"
        ? $"granularity row: the Breadcrumbs code's per-row counts (mergekit counts over the tensor), then {combine}."
        : $"mergekit magnitude_outliers over the whole tensor, then {combine}; deliberate difference: where floor(gamma·n) = 0 we drop no outliers, mergekit's slice indices[n_bot:-0] keeps nothing and zeroes the task vector.";

    /// <summary>The --plan line of the DELLA methods.</summary>
    protected static string DellaNote(MergeParameters p, string combine) =>
        "mergekit della_magprune: keep probability density ± epsilon by magnitude rank within each row (last dimension), "
        + (p.Flag("rescale") ? (p.Choice("rescale_by") == "l1" ? "L1-norm rescale (mergekit)" : "survivors / keep probability (DELLA paper)") : "no rescale")
        + $", {combine}. Draws come from our counter-based seeded stream (same distribution as torch.bernoulli); equal magnitudes rank by index.";
}
