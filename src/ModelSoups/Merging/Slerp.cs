namespace ModelSoups.Merging;

/// <summary>
/// Spherical interpolation of two tensors over the flattened tensor, as mergekit <c>slerp</c>:
/// normalise both (only when the norm exceeds 1e-8), dot = cos Θ; if |dot| &gt; 0.9995 interpolate
/// linearly, else sin((1−t)Θ)/sinΘ·a + sin(tΘ)/sinΘ·b on the unnormalised tensors. The two ends:
/// mergekit's form, the base model and one other model (t = 0 is the base); or two models without a
/// base (t = 0 is the first). Our extension: a base and two models interpolates the two task vectors
/// and adds them to the base (mergekit refuses three models). Dots and norms in double.
/// </summary>
public sealed class Slerp : MergeMethod<SlerpParameters>
{
    const double DotThreshold = 0.9995, Eps = 1e-8;

    /// <inheritdoc/>
    public override string Name => "slerp";
    /// <inheritdoc/>
    public override string Description => "Spherical linear interpolation from the base (or the first model) toward the other model.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Optional;
    /// <inheritdoc/>
    public override int MinModels => 1;
    /// <inheritdoc/>
    public override int MaxModels => 2;
    /// <inheritdoc/>
    protected override string ModelCountText => "exactly 2 tensors: the base_model and one other model, or two models (without a base, or task vectors over a base), so 1 or 2";
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("t", ParameterScope.Global, ParameterKind.Number, null, "Interpolation factor: 0 is the base (or the first model), 1 the other model.") { Min = 0, Max = 1 },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;

    /// <inheritdoc/>
    public override string Definition(MergeParameters p) => p.ModelCount == 1
        ? "mergekit slerp: from the base_model (t = 0) toward the other model (t = 1); coefficients computed in double (mergekit: float32 numpy)."
        : "two models: slerp from the first (t = 0) to the second" + " (with a base: of the two task vectors, added to the base — our extension; mergekit takes exactly the base and one model).";

    /// <inheritdoc/>
    protected override SlerpParameters Bind(MergeParameters parameters) => new(parameters.Number("t"), parameters.ModelCount == 1);

    /// <inheritdoc/>
    protected override void ValidateParameters(SlerpParameters p, bool hasBase, string where)
    {
        if (p.FromBase && !hasBase)
            throw new ModelSoupsException($"slerp needs two tensors to interpolate{where}: give base_model and one other model (mergekit's form), or two models.");
    }

    /// <summary>The coefficients (s0, s1) of slerp between <paramref name="aa"/>/<paramref name="bb"/>-normed vectors with dot product <paramref name="ab"/>.</summary>
    public static (double S0, double S1) Coefficients(double t, double aa, double bb, double ab)
    {
        double na = Math.Sqrt(aa), nb = Math.Sqrt(bb);
        double dot = ab / (na > Eps ? na : 1) / (nb > Eps ? nb : 1);
        if (Math.Abs(dot) > DotThreshold) return (1 - t, t);
        double theta = Math.Acos(dot), sinTheta = Math.Sin(theta);
        return (Math.Sin(theta - theta * t) / sinTheta, Math.Sin(theta * t) / sinTheta);
    }

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, SlerpParameters parameters, Span<T> output)
    {
        double t = parameters.T;
        bool fromBase = input.Models.Count == 1;
        var a = fromBase ? input.Base.Span : input.Models[0].Span;
        var b = fromBase ? input.Models[0].Span : input.Models[1].Span;
        bool taskVectors = !fromBase && input.HasBase;
        var o = taskVectors ? input.Base.Span : default;
        double aa = 0, bb = 0, ab = 0;
        for (int j = 0; j < output.Length; j++)
        {
            double x = double.CreateChecked(a[j]), y = double.CreateChecked(b[j]);
            if (taskVectors) { double z = double.CreateChecked(o[j]); x -= z; y -= z; }
            aa += x * x; bb += y * y; ab += x * y;
        }
        var (s0, s1) = Coefficients(t, aa, bb, ab);
        T c0 = T.CreateChecked(s0), c1 = T.CreateChecked(s1);
        for (int j = 0; j < output.Length; j++)
            output[j] = taskVectors ? o[j] + (c0 * (a[j] - o[j]) + c1 * (b[j] - o[j])) : c0 * a[j] + c1 * b[j];
    }
}
