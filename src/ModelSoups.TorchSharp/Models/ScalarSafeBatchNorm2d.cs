using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// BatchNorm over [N, C, H, W] (Ioffe &amp; Szegedy 2015) with PyTorch's <c>nn.BatchNorm2d</c> state (weight, bias,
/// running_mean, running_var, num_batches_tracked: checkpoints are interchangeable) and semantics. Train mode
/// normalises with the batch's biased statistics and updates running = (1 − m)·running + m·batch (unbiased variance),
/// m = <see cref="Momentum"/>, or 1/num_batches_tracked when it is null (a cumulative average); eval mode uses the
/// running statistics. It exists because TorchSharp 0.107's BatchNorm increments num_batches_tracked with an implicit
/// Scalar left to the finalizer (dotnet/TorchSharp#1434); here the counter's Scalar is disposed on the calling thread,
/// and the statistics are ATen's own batch_norm (momentum and ε travel as doubles, no Scalar).
/// </summary>
public sealed class ScalarSafeBatchNorm2d : nn.Module<Tensor, Tensor>
{
    // Named for RegisterComponents (a parent's RegisterComponents would otherwise register them as "_weight", …).
    // Declaration order is state_dict order, as in PyTorch: parameters, then buffers.
    [ComponentName(Name = "weight")] Parameter _weight;
    [ComponentName(Name = "bias")] Parameter _bias;
    [ComponentName(Name = "running_mean")] Tensor _runningMean;
    [ComponentName(Name = "running_var")] Tensor _runningVar;
    [ComponentName(Name = "num_batches_tracked")] Tensor _numBatchesTracked;

    /// <summary>A layer over <paramref name="features"/> channels; PyTorch's defaults ε = 1e-5, momentum 0.1, γ = 1, β = 0.</summary>
    public ScalarSafeBatchNorm2d(long features, double eps = 1e-5, double? momentum = 0.1) : base("BatchNorm2d")
    {
        if (features < 1) throw new ArgumentOutOfRangeException(nameof(features), features, "at least one channel");
        Eps = eps;
        Momentum = momentum;
        _weight = new Parameter(ones(features));
        _bias = new Parameter(zeros(features));
        _runningMean = zeros(features);
        _runningVar = ones(features);
        _numBatchesTracked = zeros(1, ScalarType.Int64).reshape([]);
        RegisterComponents();
    }

    /// <summary>ε added to the variance.</summary>
    public double Eps { get; }

    /// <summary>The running statistics' update factor; null: cumulative average (1/num_batches_tracked), as PyTorch's momentum=None.</summary>
    public double? Momentum { get; set; }

    // The setters are for Module.to(dtype/device), which replaces each parameter and buffer through the property of
    // its name (TorchSharp's _toEpilog); they re-register the new tensor under the same name.

    /// <summary>γ, per channel.</summary>
    public Parameter weight { get => _weight; private set { _weight = value; ConditionallyRegisterParameter(nameof(weight), value); } }

    /// <summary>β, per channel.</summary>
    public Parameter bias { get => _bias; private set { _bias = value; ConditionallyRegisterParameter(nameof(bias), value); } }

    /// <summary>Running mean, per channel.</summary>
    public Tensor running_mean { get => _runningMean; private set { _runningMean = value; ConditionallyRegisterBuffer(nameof(running_mean), value); } }

    /// <summary>Running (unbiased) variance, per channel.</summary>
    public Tensor running_var { get => _runningVar; private set { _runningVar = value; ConditionallyRegisterBuffer(nameof(running_var), value); } }

    /// <summary>Number of train-mode batches seen (a 0-d int64 tensor).</summary>
    public Tensor num_batches_tracked
    {
        get => _numBatchesTracked;
        private set { _numBatchesTracked = value; ConditionallyRegisterBuffer(nameof(num_batches_tracked), value); }
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4) throw new ArgumentException($"expected a 4-D input [N, C, H, W], got {input.dim()}-D", nameof(input));
        double factor = 0;
        if (training)
        {
            using var one = 1L.ToScalar();
            // add_(s) alone would make an implicit alpha = 1 Scalar.
            using (no_grad()) _numBatchesTracked.add_(one, one);
            factor = Momentum ?? 1.0 / _numBatchesTracked.item<long>();
        }
        return nn.functional.batch_norm(input, _runningMean, _runningVar, _weight, _bias, training, factor, Eps);
    }
}
