namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// Synthetic images of no domain, for data-free PLeaS (<c>soup pleas --feature-data noise</c>): each pixel is ¾ of a smooth
/// field — a coarse grid of independent uniform values (one cell per 4×4 pixels, at least 2×2) interpolated bilinearly —
/// plus ¼ independent uniform pixel noise. The smooth part gives convolutions and ReLUs varied, spatially correlated
/// inputs (white noise alone averages out after the first pooling); the pixel part makes the images span every pixel
/// direction, which a layer's least squares needs to determine all of its input weights (the smooth field alone lies in a
/// subspace of grid-cell dimension). Labels are all 0 (PLeaS reads none). Deterministic for a seed.
/// </summary>
public static class NoiseImages
{
    /// <summary>Name of the source in commands and reports.</summary>
    public const string Name = "noise";

    /// <summary><paramref name="count"/> byte images of <paramref name="channels"/> × <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static ImageDataset Create(int count, int channels, int height, int width, ulong seed)
    {
        if (count < 1) throw new ModelSoupsException($"synthetic feature data needs at least 1 image, not {count}");
        var random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        int rows = Math.Max(2, height / 4), cols = Math.Max(2, width / 4);
        var pixels = new byte[(long)count * channels * height * width];
        var grid = new double[rows, cols];
        long o = 0;
        for (int n = 0; n < count; n++)
            for (int c = 0; c < channels; c++)
            {
                for (int r = 0; r < rows; r++)
                    for (int q = 0; q < cols; q++) grid[r, q] = random.NextDouble();
                for (int y = 0; y < height; y++)
                {
                    // Pixel centres mapped onto the grid's span (align-corners bilinear interpolation).
                    double gy = height == 1 ? 0 : y * (rows - 1) / (double)(height - 1);
                    int y0 = Math.Min((int)gy, rows - 2);
                    double fy = gy - y0;
                    for (int x = 0; x < width; x++)
                    {
                        double gx = width == 1 ? 0 : x * (cols - 1) / (double)(width - 1);
                        int x0 = Math.Min((int)gx, cols - 2);
                        double fx = gx - x0;
                        double v = (1 - fy) * ((1 - fx) * grid[y0, x0] + fx * grid[y0, x0 + 1]) + fy * ((1 - fx) * grid[y0 + 1, x0] + fx * grid[y0 + 1, x0 + 1]);
                        pixels[o++] = (byte)Math.Round(255 * (0.75 * v + 0.25 * random.NextDouble()));
                    }
                }
            }
        return new ImageDataset(pixels, new byte[count], channels, height, width, classes: 1, source: Name);
    }
}
