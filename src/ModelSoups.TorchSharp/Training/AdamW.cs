using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization", ICLR 2019) with PyTorch's update, per
/// parameter with a gradient, at its own step count t:
/// p ← p·(1 − lr·wd); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
/// The same operations in the same order as <c>torch.optim.AdamW</c> (no amsgrad, no maximize), but with explicit
/// Scalars disposed on the calling thread (see <see cref="IOptimizer"/>).
/// </summary>
public sealed class AdamW : IOptimizer
{
    readonly Parameter[] _parameters;
    readonly Tensor[] _expAvg, _expAvgSq;
    readonly long[] _steps;
    readonly double _beta1, _beta2, _eps, _weightDecay;

    /// <summary>Optimizes <paramref name="parameters"/>; PyTorch's defaults β = (0.9, 0.999), ε = 1e-8.</summary>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0)
    {
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "the learning rate must not be negative");
        if (!(beta1 is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β₁ must be in [0, 1)");
        if (!(beta2 is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β₂ must be in [0, 1)");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "ε must not be negative");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "the weight decay must not be negative");
        _parameters = parameters.ToArray();
        LearningRate = lr;
        (_beta1, _beta2, _eps, _weightDecay) = (beta1, beta2, eps, weightDecay);
        _steps = new long[_parameters.Length];
        _expAvg = new Tensor[_parameters.Length];
        _expAvgSq = new Tensor[_parameters.Length];
        for (int i = 0; i < _parameters.Length; i++)
        {
            _expAvg[i] = zeros_like(_parameters[i]).DetachFromDisposeScope();
            _expAvgSq[i] = zeros_like(_parameters[i]).DetachFromDisposeScope();
        }
    }

    /// <inheritdoc/>
    public double LearningRate { get; set; }

    /// <inheritdoc/>
    public void ZeroGrad() => IOptimizer.ZeroGradients(_parameters);

    /// <inheritdoc/>
    public void Step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        double lr = LearningRate;
        using var decay = (1 - lr * _weightDecay).ToScalar();
        using var beta1 = _beta1.ToScalar();
        using var beta2 = _beta2.ToScalar();
        using var oneMinusBeta1 = (1 - _beta1).ToScalar();
        using var oneMinusBeta2 = (1 - _beta2).ToScalar();
        using var eps = _eps.ToScalar();
        using var one = 1.ToScalar();  // add_(s) alone would make an implicit alpha = 1 Scalar
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            using var grad = p.grad;
            if (grad is null) continue;
            long t = ++_steps[i];
            double biasCorrection1 = 1 - Math.Pow(_beta1, t);
            double biasCorrection2 = 1 - Math.Pow(_beta2, t);
            using var sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
            using var stepSize = (-lr / biasCorrection1).ToScalar();

            p.mul_(decay);
            _expAvg[i].mul_(beta1).add_(grad, oneMinusBeta1);
            _expAvgSq[i].mul_(beta2).addcmul_(grad, grad, oneMinusBeta2);
            using var denom = _expAvgSq[i].sqrt();
            denom.div_(sqrtBiasCorrection2).add_(eps, one);
            p.addcdiv_(_expAvg[i], denom, stepSize);
        }
    }

    /// <summary>Frees the moment estimates (the parameters belong to their module).</summary>
    public void Dispose()
    {
        foreach (var t in _expAvg) t.Dispose();
        foreach (var t in _expAvgSq) t.Dispose();
    }
}
