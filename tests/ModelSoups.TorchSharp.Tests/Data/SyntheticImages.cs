using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

/// <summary>
/// A tiny learnable image task: 8×8 gray images whose class (0..3) is the bright quadrant, plus seeded noise.
/// Small enough for training tests that take a second.
/// </summary>
static class SyntheticImages
{
    public const int Side = 8, Classes = 4;

    public static ImageDataset Create(int count, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var pixels = new byte[count * Side * Side];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int c = rng.NextInt(Classes);
            labels[i] = (byte)c;
            int qy = c / 2, qx = c % 2;
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                {
                    bool bright = y / (Side / 2) == qy && x / (Side / 2) == qx;
                    int v = (bright ? 170 : 40) + rng.NextInt(80);
                    pixels[i * Side * Side + y * Side + x] = (byte)v;
                }
        }
        return new ImageDataset(pixels, labels, Side, Side, Classes, "synthetic");
    }

    /// <summary>Writes <paramref name="count"/> images as a dataset file and returns its path.</summary>
    public static string WriteFile(TempFolder folder, int count = 300, ulong seed = 1)
    {
        var path = folder["data.safetensors"];
        SafetensorsDataset.Write(path, Create(count, seed));
        return path;
    }
}
