using System.Globalization;
using ModelSoups.Checkpoints;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// The default <see cref="ISparseScorer"/>: top-1 accuracy on the held-out split, on the test split, and as OOD the mean
/// accuracy over two deterministic corruptions of the test images (of the held-out images when there is no test split):
/// additive Gaussian noise (σ = <see cref="NoiseSigma"/> on the [0, 1] scale, clipped for byte images; SplitMix64 +
/// Box–Muller, the same on every machine) and inversion (1 − x; −x for float datasets). A stand-in until the shared
/// corruption suite of <c>soup demo</c> is wired in.
/// </summary>
public sealed class NoiseInversionScorer : ISparseScorer, IDisposable
{
    /// <summary>Standard deviation of the added noise.</summary>
    public const double NoiseSigma = 0.2;

    readonly ImageDataset _heldOut;
    readonly ImageDataset? _test;
    readonly ImageDataset[] _ood;
    readonly Dictionary<string, nn.Module<Tensor, Tensor>> _modules = new(StringComparer.Ordinal);
    readonly int _batchSize;

    /// <param name="data">The splits.</param>
    /// <param name="limit">Score on a seeded sample of at most this many images per split (null: all).</param>
    /// <param name="batchSize">Inference batch size.</param>
    public NoiseInversionScorer(DatasetSplits data, int? limit = null, int batchSize = 256)
    {
        _batchSize = batchSize;
        _heldOut = limit is { } l ? data.HeldOut.Sample(l, DatasetSplits.DefaultSplitSeed) : data.HeldOut;
        _test = data.Test is { } t ? (limit is { } l2 ? t.Sample(l2, DatasetSplits.DefaultSplitSeed) : t) : null;
        var source = _test ?? _heldOut;
        _ood = [Noise(source, NoiseSigma, seed: 1), Invert(source)];
        Description = string.Create(CultureInfo.InvariantCulture,
            $"held-out {_heldOut.Count}, test {_test?.Count.ToString(CultureInfo.InvariantCulture) ?? "none"}, OOD = mean of Gaussian noise σ {NoiseSigma} and inversion on {(_test is null ? "held-out" : "test")} ({source.Count} each)");
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public SparseScores Score(ICheckpoint checkpoint, ModelSpec spec, CancellationToken cancel = default)
    {
        var key = spec.ToJson();
        if (!_modules.TryGetValue(key, out var model)) _modules[key] = model = spec.Create();
        ModuleState.Load(model, checkpoint);
        double Accuracy(ImageDataset d) => BatchedInference.Evaluate(model, spec, d, _batchSize, cancel).Score;
        double heldOut = Accuracy(_heldOut);
        double? test = _test is null ? null : Accuracy(_test);
        double ood = _ood.Average(Accuracy);
        return new SparseScores(heldOut, test, ood);
    }

    /// <summary>x + σ·N(0, 1) per pixel.</summary>
    public static ImageDataset Noise(ImageDataset d, double sigma, ulong seed)
    {
        var x = Floats(d);
        var rng = new SplitMix64(seed);   // a struct: advanced in place below
        for (int i = 0; i < x.Length; i++)
        {
            // Box–Muller from two uniforms in (0, 1].
            double u1 = rng.NextDouble(), u2 = rng.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(1 - u1)) * Math.Cos(2 * Math.PI * u2);
            double v = x[i] + sigma * z;
            x[i] = (float)(d.IsFloat ? v : Math.Clamp(v, 0, 1));
        }
        return new ImageDataset(x, d.Labels, d.Channels, d.Height, d.Width, d.Classes, d.Source + " +noise");
    }

    /// <summary>1 − x for byte images (scaled to [0, 1]), −x for float ones.</summary>
    public static ImageDataset Invert(ImageDataset d)
    {
        var x = Floats(d);
        for (int i = 0; i < x.Length; i++) x[i] = d.IsFloat ? -x[i] : 1 - x[i];
        return new ImageDataset(x, d.Labels, d.Channels, d.Height, d.Width, d.Classes, d.Source + " inverted");
    }

    static float[] Floats(ImageDataset d) => d.Values is { } v ? (float[])v.Clone() : d.Pixels.Select(p => p / 255f).ToArray();

    /// <summary>Releases the modules.</summary>
    public void Dispose()
    {
        foreach (var m in _modules.Values) m.Dispose();
        _modules.Clear();
    }
}
