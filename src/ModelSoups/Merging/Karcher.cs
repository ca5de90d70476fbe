
namespace ModelSoups.Merging;

/// <summary>
/// The Karcher (Fréchet) mean on the sphere (mergekit <c>karcher</c>): each input x_i (the models,
/// and the base when one is given, as mergekit gathers it) has norm r_i and direction x̂_i; inputs with
/// r_i ≤ tol are left out of the direction. Start from the normalised mean of the directions, then
/// repeat at most <c>max_iter</c> times: T = Σ α_i θ_i/sin θ_i · (x̂_i − cos θ_i·u) over the directions
/// with θ_i = arccos(u·x̂_i) ≥ tol; stop when ‖T‖ &lt; tol; u ← cos‖T‖·u + sin‖T‖·T/‖T‖, renormalised.
/// Result (Σ_i r_i / N)·u. Equal weights α = 1/N, as mergekit. Dots in double.
/// </summary>
public sealed class Karcher : MergeMethod<KarcherParameters>
{
    /// <inheritdoc/>
    public override string Name => "karcher";
    /// <inheritdoc/>
    public override string Description => "Karcher mean: the Riemannian mean of the models' directions on the sphere, scaled by their mean norm.";
    /// <inheritdoc/>
    public override BaseModelUse BaseModel => BaseModelUse.Optional;
    /// <inheritdoc/>
    public override IReadOnlyList<MergeParameterDef> Parameters { get; } =
    [
        new("max_iter", ParameterScope.Global, ParameterKind.Integer, 10.0, "Most fixed-point iterations.") { Min = 0, Max = 100_000 },
        new("tol", ParameterScope.Global, ParameterKind.Number, 1e-5, "Convergence tolerance (also the smallest norm and angle counted).") { Min = 0 },
    ];
    /// <inheritdoc/>
    public override bool IsElementwise(MergeParameters parameters) => false;
    /// <inheritdoc/>
    public override long ScratchElements(long elementCount, int modelCount) => 2 * elementCount;
    /// <inheritdoc/>
    public override string Definition(MergeParameters p) =>
        $"mergekit karcher: equal weights, at most {p.Integer("max_iter")} iterations, tol {p.Number("tol")}; a base_model, if given, is one of the points averaged (mergekit gathers it too).";

    /// <inheritdoc/>
    protected override KarcherParameters Bind(MergeParameters p) => new(p.Integer("max_iter"), p.Number("tol"));

    /// <inheritdoc/>
    protected override void MergeCore<T>(MergeInput<T> input, KarcherParameters parameters, Span<T> output)
    {
        var points = new List<ReadOnlyMemory<T>>(input.Models);
        if (input.HasBase) points.Add(input.Base);
        int k = points.Count, n = output.Length;
        if (k == 1) { points[0].Span.CopyTo(output); return; }
        int maxIter = parameters.MaxIterations;
        double tol = parameters.Tolerance;
        var norms = new double[k];
        for (int i = 0; i < k; i++) norms[i] = Math.Sqrt(Dot(points[i].Span, points[i].Span));
        var valid = Enumerable.Range(0, k).Where(i => norms[i] > tol).ToArray();
        if (valid.Length == 0) { output.Clear(); return; }
        double alpha = 1.0 / valid.Length; // normalised equal weights over the counted directions
        var u = input.Scratch.Take<T>(n);
        var tv = input.Scratch.Take<T>(n);
        var normT = norms.Select(r => r > 0 ? T.CreateChecked(r) : T.One).ToArray(); // x̂_i = x_i / r_i, formed in T as mergekit forms it
        u.Clear();
        T a = T.CreateChecked(alpha);
        foreach (int i in valid)
        {
            var x = points[i].Span;
            for (int j = 0; j < n; j++) u[j] += a * (x[j] / normT[i]);
        }
        double nu = Math.Sqrt(Dot<T>(u, u));
        if (nu < tol) { var x = points[valid[0]].Span; for (int j = 0; j < n; j++) u[j] = x[j] / normT[valid[0]]; }
        else Scale(u, T.CreateChecked(nu));

        for (int iter = 0; iter < maxIter; iter++)
        {
            tv.Clear();
            foreach (int i in valid)
            {
                var x = points[i].Span;
                double dot = 0;
                for (int j = 0; j < n; j++) dot += double.CreateChecked(u[j]) * double.CreateChecked(x[j] / normT[i]);
                dot = Math.Clamp(dot, -1, 1);
                double theta = Math.Acos(dot);
                if (theta < tol) continue;
                T c = T.CreateChecked(alpha * theta / Math.Sin(theta)), d = T.CreateChecked(dot);
                for (int j = 0; j < n; j++) tv[j] += c * (x[j] / normT[i] - d * u[j]);
            }
            double nt = Math.Sqrt(Dot<T>(tv, tv));
            if (nt < tol) break;
            T cos = T.CreateChecked(Math.Cos(nt)), sinOver = T.CreateChecked(Math.Sin(nt) / nt);
            for (int j = 0; j < n; j++) u[j] = cos * u[j] + sinOver * tv[j];
            double un = Math.Sqrt(Dot<T>(u, u));
            if (un > tol) Scale(u, T.CreateChecked(un));
        }
        double scale = 0;
        for (int i = 0; i < k; i++) scale += norms[i] / k; // mergekit: Σ α_i r_i over every input, α_i = 1/N
        T s = T.CreateChecked(scale);
        for (int j = 0; j < n; j++) output[j] = s * u[j];
    }

    static double Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        double s = 0;
        for (int j = 0; j < x.Length; j++) s += double.CreateChecked(x[j]) * double.CreateChecked(y[j]);
        return s;
    }

    static void Scale<T>(Span<T> x, T divisor) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        for (int j = 0; j < x.Length; j++) x[j] /= divisor;
    }
}
