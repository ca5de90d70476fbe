using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// Tensor arithmetic with numbers without TorchSharp's implicit Scalars: each operation makes its Scalar explicitly
/// and disposes it (TorchSharp 0.107 leaves implicit ones to the finalizer, which can free them while libtorch still
/// reads them; dotnet/TorchSharp#1434). Even <c>a + b</c> makes one (alpha = 1), hence <see cref="Plus"/>.
/// </summary>
static class ScalarSafeMath
{
    /// <summary>a + b.</summary>
    public static Tensor Plus(Tensor a, Tensor b) { using var one = 1.ToScalar(); return a.add(b, one); }

    /// <summary>a − b.</summary>
    public static Tensor Minus(Tensor a, Tensor b) => a.sub(b);  // sub has no alpha in TorchSharp 0.107: no Scalar

    /// <summary>a += b, in place.</summary>
    public static void AddInPlace(Tensor a, Tensor b) { using var one = 1.ToScalar(); a.add_(b, one); }

    /// <summary>a · s.</summary>
    public static Tensor Times(Tensor a, double s) { using var x = s.ToScalar(); return a.mul(x); }

    /// <summary>a / s.</summary>
    public static Tensor Over(Tensor a, double s) { using var x = s.ToScalar(); return a.div(x); }

    /// <summary>max(a, m) elementwise.</summary>
    public static Tensor ClampMin(Tensor a, double m) { using var x = m.ToScalar(); return a.clamp_min(x); }

    /// <summary>a &gt; m elementwise.</summary>
    public static Tensor Greater(Tensor a, double m) { using var x = m.ToScalar(); return a.gt(x); }
}
