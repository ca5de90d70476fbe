using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

public class NoiseImagesTests
{
    [Fact]
    public void NoiseImagesAreSeededSmoothAndSpanThePixelRange()
    {
        var a = NoiseImages.Create(50, 1, 28, 28, seed: 3);
        Assert.Equal(50, a.Count);
        Assert.Equal((1, 28, 28), (a.Channels, a.Height, a.Width));
        Assert.All(a.Labels, l => Assert.Equal(0, l));
        Assert.Equal(a.Pixels, NoiseImages.Create(50, 1, 28, 28, seed: 3).Pixels);
        Assert.NotEqual(a.Pixels, NoiseImages.Create(50, 1, 28, 28, seed: 4).Pixels);
        double mean = a.Pixels.Average(p => (double)p);
        double sd = Math.Sqrt(a.Pixels.Average(p => (p - mean) * (p - mean)));
        // Neighbours differ far less than random pixels do: ¾ of each pixel is a smooth field over 7×7 cells
        // (for independent pixels the mean |difference| would be about 1.13 sd).
        double neighbour = 0; int pairs = 0;
        for (int n = 0; n < a.Count; n++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x + 1 < 28; x++) { neighbour += Math.Abs(a.Pixels[n * 784 + y * 28 + x] - a.Pixels[n * 784 + y * 28 + x + 1]); pairs++; }
        Assert.InRange(mean, 110, 145);   // ¾·U-ish smooth field + ¼·U: mean 127.5
        Assert.True(sd > 30, $"sd {sd}");
        Assert.True(neighbour / pairs < 0.6 * sd, $"mean neighbour difference {neighbour / pairs}, sd {sd}");
        Assert.Throws<ModelSoupsException>(() => NoiseImages.Create(0, 1, 28, 28, 1));
    }
}
