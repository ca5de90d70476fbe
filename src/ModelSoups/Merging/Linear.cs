using System.Numerics;
using System.Runtime.InteropServices;
using ModelSoups.Soups;
using ModelSoups.Tensors;
namespace ModelSoups.Merging;

/// <summary>
/// Weighted average Σ w_i θ_i / Σ w_i (or the plain weighted sum when normalize is false).
/// Equal weights give the uniform soup of Wortsman et al. (2022); matches mergekit <c>linear</c>.
/// </summary>
public sealed class Linear : MergeMethod<LinearParameters>
{
    /// <inheritdoc/>
    public override string Name => "linear";
    /// <inheritdoc/>
    public override string Description => "Weighted average of the models (uniform soup with equal weights).";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.None;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        WeightDef,
        new("normalize", ParameterScope.Global, ParameterKind.Flag, true, "Divide by the sum of weights."),
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => true;

    /// <inheritdoc/>
    protected override LinearParameters Bind(MergeParameters parameters) => LinearParameters.From(parameters);

    /// <inheritdoc/>
    protected override void ValidateParameters(LinearParameters p, bool hasBase, string where)
    {
        if (!p.Normalize) return;
        // Zero relative to the weights' own size: 1e-39 + 1e-39 is a fine sum, 1 + (-1) (or 1 + (-1 + 1e-15)) is not.
        double max = p.Weights.Max(Math.Abs);
        if (!(Math.Abs(p.Divisor) > 1e-12 * max))
            throw new ModelSoupsException($"The linear weights sum to zero{where}, so they cannot be normalised; change a weight or set normalize: false.");
    }

    /// <inheritdoc/>
    /// <remarks>Inputs of unknown file dtype accumulate in f64 (the rule for f32 files); the engine, which
    /// knows the files, passes <see cref="Accumulation.For"/> through <see cref="Merge{T}(MergeInput{T}, Accumulation, Span{T})"/>.</remarks>
    protected override void MergeCore<T>(MergeInput<T> input, LinearParameters parameters, Span<T> output) => Accumulate(input, parameters, Accumulation.F64, output);

    /// <summary>
    /// The weighted mean with the running sum kept in <paramref name="accumulation"/> (F32 only for f32
    /// compute): <see cref="SoupAccumulator"/> over the already converted inputs.
    /// </summary>
    public void Merge<T>(MergeInput<T> input, Accumulation accumulation, Span<T> output) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequirePlanned(input);
        foreach (var m in input.Models)
            if (m.Length != output.Length) throw new ArgumentException("Every input must have the output's length.", nameof(input));
        Accumulate(input, Typed(input.Parameters), accumulation, output);
    }


    /// <summary>The weights w_i and the divisor planning bound for the tensor (see <see cref="LinearParameters.From"/>).</summary>
    internal static IReadOnlyList<double> Weights(MergeParameters p, out double divisor)
    {
        var typed = p.Bound as LinearParameters
            ?? throw new InvalidOperationException("The linear parameters were not planned: MergePlan validates (and binds) them once per tensor before merging.");
        divisor = typed.Divisor;
        return typed.Weights;
    }

    static void Accumulate<T>(MergeInput<T> input, LinearParameters p, Accumulation accumulation, Span<T> output) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var w = p.Weights;
        double divisor = p.Divisor;
        var compute = typeof(T) == typeof(double) ? DType.F64 : DType.F32;
        if (compute == DType.F64) accumulation = Accumulation.F64;
        // One L1-sized slice of every model at a time, so the sum stays in cache.
        Span<byte> acc = stackalloc byte[SoupAccumulator.Slice * sizeof(double)];
        int size = compute.Size();
        var outBytes = MemoryMarshal.AsBytes(output);
        for (int s = 0; s < output.Length; s += SoupAccumulator.Slice)
        {
            int n = Math.Min(SoupAccumulator.Slice, output.Length - s);
            var a = acc[..(n * accumulation.Size)];
            SoupAccumulator.Clear(accumulation, a);
            for (int i = 0; i < w.Count; i++)
                SoupAccumulator.Add(accumulation, a, compute, compute, MemoryMarshal.AsBytes(input.Models[i].Span.Slice(s, n)), w[i]);
            SoupAccumulator.Mean(accumulation, a, compute, divisor, compute, outBytes.Slice(s * size, n * size));
        }
    }
}
