using ModelSoups.TorchSharp.Data;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Data;

public class SplitAndAugmentationTests
{
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.allclose(b, 0, 0);

    [Fact]
    public void SplitMix64_matches_the_reference_sequence()
    {
        var r = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, r.Next()); // first output for seed 0 (Vigna's splitmix64.c)
        Assert.Equal(0x6E789E6AA1B965F4UL, r.Next());
    }

    [Fact]
    public void Held_out_split_is_deterministic_disjoint_and_complete()
    {
        var a = HeldOutSplit.Create(1000, 0.02, 42);
        var b = HeldOutSplit.Create(1000, 0.02, 42);
        Assert.Equal(a.HeldOut, b.HeldOut);
        Assert.Equal(20, a.HeldOut.Length);
        Assert.Equal(980, a.Train.Length);
        Assert.Empty(a.Train.Intersect(a.HeldOut));
        Assert.Equal(Enumerable.Range(0, 1000), a.Train.Concat(a.HeldOut).Order());
        Assert.NotEqual(a.HeldOut, HeldOutSplit.Create(1000, 0.02, 43).HeldOut);
    }

    [Fact]
    public void Augmentation_is_deterministic_per_seed_and_keeps_shape()
    {
        manual_seed(0);
        using var batch = rand(8, 1, 28, 28);
        var aug = new Augmentation(Padding: 2, Flip: true, NoiseStd: 0.1f);
        using var a = aug.Apply(batch, 5);
        using var b = aug.Apply(batch, 5);
        using var c = aug.Apply(batch, 6);
        Assert.Equal(batch.shape, a.shape);
        Assert.True(Same(a, b));
        Assert.False(Same(a, c));
    }

    [Fact]
    public void Flip_only_gives_each_image_or_its_mirror_and_none_is_a_copy()
    {
        manual_seed(1);
        using var batch = rand(16, 1, 5, 5);
        using var flipped = new Augmentation(Flip: true).Apply(batch, 9);
        int mirrors = 0;
        for (int i = 0; i < 16; i++)
        {
            bool same = Same(flipped[i], batch[i]), mirror = Same(flipped[i], batch[i].flip(2));
            Assert.True(same || mirror);
            if (mirror) mirrors++;
        }
        Assert.InRange(mirrors, 1, 15);
        using var copy = Augmentation.None.Apply(batch, 0);
        Assert.True(Same(copy, batch));
        Assert.NotEqual(batch.Handle, copy.Handle);
    }

    [Fact]
    public void Crop_with_padding_shifts_content_by_at_most_the_padding()
    {
        using var batch = zeros(32, 1, 9, 9);
        batch[.., .., 4, 4] = ones(1); // one bright pixel in the middle
        using var cropped = new Augmentation(Padding: 2).Apply(batch, 3);
        for (int i = 0; i < 32; i++)
        {
            var idx = cropped[i, 0].flatten().argmax().item<long>();
            long r = idx / 9, c = idx % 9;
            Assert.InRange(r, 2, 6);
            Assert.InRange(c, 2, 6);
            Assert.Equal(1f, cropped[i].sum().item<float>());
        }
    }

    [Fact]
    public void Noise_has_the_requested_standard_deviation()
    {
        using var batch = zeros(64, 1, 28, 28);
        using var noisy = new Augmentation(NoiseStd: 0.5f).Apply(batch, 11);
        Assert.InRange(noisy.std().item<float>(), 0.49f, 0.51f);
    }
}
