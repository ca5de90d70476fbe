namespace ModelSoups.Merging;

/// <summary>
/// NuSLERP (mergekit <c>nuslerp</c>): SLERP of two models with t = w₂ / (w₁ + w₂) from their
/// weights (½ when the weights sum to less than 10⁻⁶), over the flattened tensor (default), over rows
/// (last dimension) or, with <c>nuslerp_row_wise</c>, over columns (dimension 0). Each vector is
/// normalised by max(‖v‖, 10⁻⁷); Θ = arccos(clamp(û₁·û₂)); result (sin((1−t)Θ)·v₁ + sin(tΘ)·v₂)/sinΘ,
/// linear where |sinΘ| &lt; 10⁻⁸. With a base model the two task vectors are interpolated and added to it.
/// </summary>
public sealed class NuSlerp : MergeMethod<NuSlerpParameters>
{
    /// <inheritdoc/>
    public override string Name => "nuslerp";
    /// <inheritdoc/>
    public override string Description => "NuSLERP: weight-driven spherical interpolation of two models or task vectors, flattened, row- or column-wise.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Optional;
    /// <inheritdoc/>
    public override int MinModels => 2;
    /// <inheritdoc/>
    public override int MaxModels => 2;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        WeightDef,
        new("nuslerp_row_wise", ParameterScope.Global, ParameterKind.Flag, false, "Interpolate along dimension 0 (columns of a matrix) when not flattened."),
        new("nuslerp_flatten", ParameterScope.Global, ParameterKind.Flag, true, "Interpolate the flattened tensor as one vector."),
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) =>
        "mergekit nuslerp" + (p.Flag("nuslerp_flatten") ? " (flattened)" : p.Flag("nuslerp_row_wise") ? " (along dimension 0)" : " (along the last dimension)")
        + "; the base may not be one of the two models (as mergekit). Angles in double.";

    /// <inheritdoc/>
    protected override NuSlerpParameters Bind(MergeParameters p) =>
        new(p.Number("weight", 0), p.Number("weight", 1), p.Flag("nuslerp_flatten"), p.Flag("nuslerp_row_wise"));

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, NuSlerpParameters p, Span<T> output)
    {
        double t = p.T;
        int n = output.Length;
        // Vectors: `count` of them, each of `length` elements at stride `step`, starting at start(v).
        int length = n, count = 1, step = 1;
        bool columns = false;
        if (!p.Flatten && input.Shape.Length >= 1 && n > 0)
        {
            if (p.RowWise) { length = (int)input.Shape[0]; count = n / Math.Max(length, 1); step = count; columns = true; }
            else { length = (int)input.Shape[^1]; count = n / Math.Max(length, 1); }
        }
        var a = input.Models[0].Span;
        var b = input.Models[1].Span;
        var o = input.HasBase ? input.Base.Span : default;
        bool hasBase = input.HasBase;
        for (int v = 0; v < count; v++)
        {
            int start = columns ? v : v * length;
            double aa = 0, bb = 0, ab = 0;
            for (int r = 0, j = start; r < length; r++, j += step)
            {
                double x = double.CreateChecked(At(a, o, hasBase, j)), y = double.CreateChecked(At(b, o, hasBase, j));
                aa += x * x; bb += y * y; ab += x * y;
            }
            double na = Math.Max(Math.Sqrt(aa), 1e-7), nb = Math.Max(Math.Sqrt(bb), 1e-7);
            double theta = Math.Acos(Math.Clamp(ab / na / nb, -1, 1)), sin = Math.Sin(theta);
            bool colinear = Math.Abs(sin) < 1e-8;
            T s0 = T.CreateChecked(colinear ? 1 - t : Math.Sin((1 - t) * theta)), s1 = T.CreateChecked(colinear ? t : Math.Sin(t * theta));
            T div = T.CreateChecked(colinear ? 1 : sin);
            for (int r = 0, j = start; r < length; r++, j += step)
            {
                T res = colinear ? s0 * At(a, o, hasBase, j) + s1 * At(b, o, hasBase, j) : (s0 * At(a, o, hasBase, j) + s1 * At(b, o, hasBase, j)) / div;
                output[j] = hasBase ? o[j] + res : res;
            }
        }
    }

    static T At<T>(ReadOnlySpan<T> m, ReadOnlySpan<T> o, bool hasBase, int j) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> =>
        hasBase ? m[j] - o[j] : m[j];
}
