namespace ModelSoups.Merging;

/// <summary>
/// Spherical interpolation of two models over the flattened tensor, as mergekit <c>slerp</c>:
/// normalise both (only when the norm exceeds 1e-8), dot = cos Θ; if |dot| &gt; 0.9995 interpolate
/// linearly, else sin((1−t)Θ)/sinΘ·a + sin(tΘ)/sinΘ·b on the unnormalised tensors. With a base
/// model the two task vectors are interpolated and added to the base. Dots and norms in double.
/// </summary>
public sealed class Slerp : MergeMethod
{
    const double DotThreshold = 0.9995, Eps = 1e-8;

    /// <inheritdoc/>
    public override string Name => "slerp";
    /// <inheritdoc/>
    public override string Description => "Spherical linear interpolation between two models (t = 0 gives the first).";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Optional;
    /// <inheritdoc/>
    public override int MinModels => 2;
    /// <inheritdoc/>
    public override int MaxModels => 2;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("t", ParameterScope.Global, ParameterKind.Number, null, "Interpolation factor: 0 is the first model, 1 the second.") { Min = 0, Max = 1 },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, Span<T> output)
    {
        double t = input.Parameters.Number("t");
        var a = input.Models[0].Span;
        var b = input.Models[1].Span;
        var o = input.HasBase ? input.Base.Span : default;
        bool hasBase = input.HasBase;
        double aa = 0, bb = 0, ab = 0;
        for (int j = 0; j < output.Length; j++)
        {
            double x = double.CreateChecked(a[j]), y = double.CreateChecked(b[j]);
            if (hasBase) { double z = double.CreateChecked(o[j]); x -= z; y -= z; }
            aa += x * x; bb += y * y; ab += x * y;
        }
        double na = Math.Sqrt(aa), nb = Math.Sqrt(bb);
        double dot = ab / (na > Eps ? na : 1) / (nb > Eps ? nb : 1);
        double s0, s1;
        if (Math.Abs(dot) > DotThreshold) { s0 = 1 - t; s1 = t; }
        else
        {
            double theta = Math.Acos(dot), sinTheta = Math.Sin(theta);
            s0 = Math.Sin(theta - theta * t) / sinTheta;
            s1 = Math.Sin(theta * t) / sinTheta;
        }
        T c0 = T.CreateChecked(s0), c1 = T.CreateChecked(s1);
        for (int j = 0; j < output.Length; j++)
            output[j] = hasBase ? o[j] + (c0 * (a[j] - o[j]) + c1 * (b[j] - o[j])) : c0 * a[j] + c1 * b[j];
    }
}
