using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// SGD with heavy-ball momentum and L2 weight decay, PyTorch's <c>torch.optim.SGD</c> update (dampening 0, no
/// Nesterov): d = g + wd·p; b ← d at a parameter's first step, else b ← μ·b + d; p ← p − lr·b (with μ = 0, p ← p − lr·d).
/// Explicit Scalars disposed on the calling thread (see <see cref="IOptimizer"/>).
/// </summary>
public sealed class SgdMomentum : IOptimizer
{
    readonly Parameter[] _parameters;
    readonly Tensor?[] _buffers;
    readonly double _momentum, _weightDecay;

    /// <summary>Optimizes <paramref name="parameters"/> with momentum μ = <paramref name="momentum"/> (0: plain SGD).</summary>
    public SgdMomentum(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double weightDecay = 0)
    {
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "the learning rate must not be negative");
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "the momentum must not be negative");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "the weight decay must not be negative");
        _parameters = parameters.ToArray();
        _buffers = new Tensor?[_parameters.Length];
        LearningRate = lr;
        (_momentum, _weightDecay) = (momentum, weightDecay);
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
        using var one = 1.ToScalar();
        using var momentum = _momentum.ToScalar();
        using var weightDecay = _weightDecay.ToScalar();
        using var minusLr = (-LearningRate).ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            using var grad = p.grad;
            if (grad is null) continue;
            var direction = _weightDecay != 0 ? grad.add(p, weightDecay) : grad;
            if (_momentum != 0)
            {
                if (_buffers[i] is not { } buffer)
                    _buffers[i] = buffer = direction.clone().DetachFromDisposeScope();
                else
                    buffer.mul_(momentum).add_(direction, one);
                direction = buffer;
            }
            p.add_(direction, minusLr);
        }
    }

    /// <summary>Frees the momentum buffers (the parameters belong to their module).</summary>
    public void Dispose()
    {
        foreach (var b in _buffers) b?.Dispose();
    }
}
