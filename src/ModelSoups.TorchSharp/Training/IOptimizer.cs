using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// A first-order optimizer of our own (<see cref="AdamW"/>, <see cref="SgdMomentum"/>). TorchSharp 0.107's
/// <c>torch.optim</c> optimizers convert numbers to Scalars implicitly inside <c>step()</c> and leave them to the
/// finalizer, which can free them while libtorch still reads them (dotnet/TorchSharp#1434); ours keep every Scalar
/// alive and dispose it.
/// </summary>
public interface IOptimizer : IDisposable
{
    /// <summary>The rate the next <see cref="Step"/> uses (set it every step for a schedule).</summary>
    double LearningRate { get; set; }

    /// <summary>Zeroes the existing gradients in place, as TorchSharp's optimizers do (a missing gradient stays missing).</summary>
    void ZeroGrad();

    /// <summary>One update of every parameter that has a gradient, without recording autograd history.</summary>
    void Step();

    /// <summary>The shared <see cref="ZeroGrad"/>: zeroes each existing gradient in place, disposing the handle.</summary>
    protected static void ZeroGradients(IEnumerable<Parameter> parameters)
    {
        foreach (var p in parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }
}
