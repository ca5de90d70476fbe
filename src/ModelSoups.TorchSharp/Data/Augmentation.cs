using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// Deterministic training-time augmentation of an image batch [N,C,H,W]: random crop after zero padding
/// (the CIFAR/Fashion-MNIST standard), horizontal flip with probability ½, additive Gaussian noise.
/// The same seed gives the same output; the model-soup ingredients differ in these settings and seeds.
/// </summary>
/// <param name="Padding">Zero padding on each side before cropping back to H×W; 0 disables the crop.</param>
/// <param name="Flip">Whether to flip each image horizontally with probability ½.</param>
/// <param name="NoiseStd">Standard deviation of the added noise, in input units; 0 disables it.</param>
public sealed record Augmentation(int Padding = 0, bool Flip = false, float NoiseStd = 0f)
{
    /// <summary>No augmentation.</summary>
    public static readonly Augmentation None = new();

    /// <summary>A new augmented batch (the input is not modified).</summary>
    public Tensor Apply(Tensor batch, ulong seed)
    {
        if (batch.dim() != 4) throw new ArgumentException($"expected [N,C,H,W], got [{string.Join(", ", batch.shape)}]");
        using var scope = NewDisposeScope();
        var rng = new SplitMix64(seed);
        long n = batch.shape[0], h = batch.shape[2], w = batch.shape[3];
        var x = batch;
        if (Padding > 0 || Flip)
        {
            var padded = Padding > 0 ? nn.functional.pad(batch, [Padding, Padding, Padding, Padding]) : batch;
            var items = new Tensor[n];
            for (long i = 0; i < n; i++)
            {
                long top = Padding > 0 ? rng.NextInt(2 * Padding + 1) : 0;
                long left = Padding > 0 ? rng.NextInt(2 * Padding + 1) : 0;
                var item = padded[i].narrow(1, top, h).narrow(2, left, w);
                if (Flip && rng.NextDouble() < 0.5) item = item.flip(2);
                items[i] = item;
            }
            x = stack(items);
        }
        if (NoiseStd > 0)
        {
            using var g = new Generator(rng.Next());
            // Explicit Scalars kept alive by `using`: `t * 0.1f` and even `a + b` (alpha = 1) make Scalars that TorchSharp
            // 0.107 leaves to the finalizer, which can free them while libtorch still reads them (dotnet/TorchSharp#1434).
            using var std = NoiseStd.ToScalar();
            using var one = 1.ToScalar();
            x = x.add(randn(x.shape, dtype: x.dtype, generator: g).mul(std), one);
        }
        return (ReferenceEquals(x, batch) ? batch.clone() : x).MoveToOuterDisposeScope();
    }
}
