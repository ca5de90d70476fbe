namespace ModelSoups.Merging;

/// <summary>
/// RAM, Reinforced Agent Merging (arXiv 2601.13572; mergekit <c>ram</c>): per element, the task
/// vectors whose |τ_i| exceeds ε contribute; where exactly one model contributes its τ_i is kept
/// whole, where several do their mean is taken (Σ τ_i / count). Result θ₀ + that. Element-wise.
/// </summary>
public sealed class Ram : MergeMethod<RamParameters>
{
    /// <inheritdoc/>
    public override string Name => "ram";
    /// <inheritdoc/>
    public override string Description => "RAM: keep changes made by one model whole, average changes several models share.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Required;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } = [EpsilonDef];

    /// <summary>RAM's ε, shared with <see cref="RamPlusTl"/>.</summary>
    internal static MergeParameterDef EpsilonDef =>
        new("epsilon", ParameterScope.Global, ParameterKind.Number, 1e-5, "A task-vector entry counts as a change when its magnitude exceeds this.") { Min = 0 };
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => true;
    /// <inheritdoc/>
    public override long ScratchElements(long elementCount, int modelCount) => (long)modelCount * 256;   // Combine's chunk of task vectors

    /// <inheritdoc/>
    protected override RamParameters Bind(MergeParameters p) => new(p.Number("epsilon"));

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, RamParameters parameters, Span<T> output)
    {
        var lambda = new T[input.Models.Count];
        Array.Fill(lambda, T.One);
        Combine(input, T.CreateChecked(parameters.Epsilon), lambda, output);
    }

    /// <summary>
    /// θ₀ + Σ_i [|τ_i| &gt; ε]·(count = 1 ? λ_i τ_i : τ_i / count) per element, count = #models with
    /// |τ_i| &gt; ε (mergekit <c>_prepare_ram_vectors</c> and the merge of <c>ram</c>/<c>ramplus_tl</c>).
    /// </summary>
    internal static void Combine<T>(MergeInput<T> input, T epsilon, T[] lambda, Span<T> output) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        int k = input.Models.Count;
        var b = input.Base.Span;
        const int Chunk = 256;
        var vals = input.Scratch.Take<T>(k * Chunk);
        for (int c = 0; c < output.Length; c += Chunk)
        {
            int cl = Math.Min(Chunk, output.Length - c);
            for (int i = 0; i < k; i++)
                System.Numerics.Tensors.TensorPrimitives.Subtract(input.Models[i].Span.Slice(c, cl), b.Slice(c, cl), vals.Slice(i * Chunk, cl));
            for (int j = 0; j < cl; j++)
            {
                int count = 0;
                for (int i = 0; i < k; i++) if (T.Abs(vals[i * Chunk + j]) > epsilon) count++;
                T acc = T.Zero, cnt = T.CreateChecked(count);
                for (int i = 0; i < k; i++)
                {
                    T d = vals[i * Chunk + j];
                    if (!(T.Abs(d) > epsilon)) continue;
                    acc += count == 1 ? d * lambda[i] : d / cnt;
                }
                output[c + j] = b[c + j] + acc;
            }
        }
    }

    /// <summary>Per model: elements it changes alone and elements it changes with others (for <see cref="RamPlusTl"/>).</summary>
    internal static (long[] Unique, long[] Shared) Counts<T>(MergeInput<T> input, T epsilon) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        int k = input.Models.Count, n = input.Base.Length;
        var b = input.Base.Span;
        var unique = new long[k];
        var shared = new long[k];
        Span<bool> on = k <= 256 ? stackalloc bool[k] : new bool[k];
        for (int j = 0; j < n; j++)
        {
            int count = 0;
            for (int i = 0; i < k; i++) if (on[i] = T.Abs(input.Models[i].Span[j] - b[j]) > epsilon) count++;
            for (int i = 0; i < k; i++)
                if (on[i]) { if (count == 1) unique[i]++; else shared[i]++; }
        }
        return (unique, shared);
    }
}
