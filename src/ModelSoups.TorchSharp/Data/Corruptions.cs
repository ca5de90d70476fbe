using System.Globalization;

namespace ModelSoups.TorchSharp.Data;

/// <summary>The image corruptions of the demo's distribution-shift test sets (see <see cref="Corruptions"/>).</summary>
public enum CorruptionKind
{
    /// <summary>Additive Gaussian noise, clipped to [0,1].</summary>
    GaussianNoise,
    /// <summary>Separable Gaussian blur, edges clamped.</summary>
    GaussianBlur,
    /// <summary>Contrast reduction towards the image mean.</summary>
    Contrast,
    /// <summary>Rotation about the centre, bilinear, zero (background) fill.</summary>
    Rotation,
    /// <summary>Photometric inversion x ↦ 1 − x.</summary>
    Inversion,
}

/// <summary>
/// Deterministic image corruptions in the spirit of ImageNet-C (Hendrycks &amp; Dietterich 2019): each maps an
/// image with values in [0,1] (C×H×W, row-major) to a new image in [0,1], at severity 0 (identity) to 5.
/// The demo builds its distribution-shift test sets from the in-distribution test set with these at one fixed
/// severity; the OOD score is the mean accuracy over the kinds (as the paper averages its five shifts).
/// Severity tables follow ImageNet-C where a value carries over (noise σ, contrast factor) and are scaled to
/// 28-pixel images otherwise (blur σ, rotation angle). Pure: no I/O, no shared state; noise is seeded.
/// </summary>
public static class Corruptions
{
    /// <summary>Highest severity.</summary>
    public const int MaxSeverity = 5;

    /// <summary>Every kind, in report order.</summary>
    public static readonly CorruptionKind[] All =
        [CorruptionKind.GaussianNoise, CorruptionKind.GaussianBlur, CorruptionKind.Contrast, CorruptionKind.Rotation, CorruptionKind.Inversion];

    // Index = severity; entry 0 is the identity.
    static readonly double[] NoiseSigma = [0, 0.08, 0.12, 0.18, 0.26, 0.38];   // ImageNet-C gaussian_noise
    static readonly double[] BlurSigma = [0, 0.5, 0.75, 1.0, 1.5, 2.0];        // pixels (ImageNet-C: 1..6 on 224 px)
    static readonly double[] ContrastFactor = [1, 0.4, 0.3, 0.2, 0.1, 0.05];  // ImageNet-C contrast
    static readonly double[] RotationDegrees = [0, 5, 10, 15, 20, 30];

    /// <summary>Short name for tables and results (<c>gaussian_noise</c>, <c>blur</c>, <c>contrast</c>, <c>rotation</c>, <c>inversion</c>).</summary>
    public static string Name(CorruptionKind kind) => kind switch
    {
        CorruptionKind.GaussianNoise => "gaussian_noise",
        CorruptionKind.GaussianBlur => "blur",
        CorruptionKind.Contrast => "contrast",
        CorruptionKind.Rotation => "rotation",
        CorruptionKind.Inversion => "inversion",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>What the corruption does at <paramref name="severity"/>, for docs and reports (e.g. "σ = 0.18").</summary>
    public static string Describe(CorruptionKind kind, int severity)
    {
        CheckSeverity(severity);
        return kind switch
        {
            CorruptionKind.GaussianNoise => F($"additive Gaussian noise σ = {NoiseSigma[severity]}"),
            CorruptionKind.GaussianBlur => F($"Gaussian blur σ = {BlurSigma[severity]} px"),
            CorruptionKind.Contrast => F($"contrast × {ContrastFactor[severity]} around the image mean"),
            CorruptionKind.Rotation => F($"rotation by {RotationDegrees[severity]}°"),
            CorruptionKind.Inversion => severity == 0 ? "identity" : "inversion 1 − x",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Applies <paramref name="kind"/> at <paramref name="severity"/> to one image (<paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>
    /// values in [0,1]); <paramref name="seed"/> drives the noise (give each image its own). Returns a new array.
    /// </summary>
    public static float[] Apply(CorruptionKind kind, int severity, ReadOnlySpan<float> image, int channels, int height, int width, ulong seed)
    {
        CheckSeverity(severity);
        if (channels < 1 || height < 1 || width < 1 || image.Length != channels * height * width)
            throw new ArgumentException($"an image of {channels}×{height}×{width} needs {channels * height * width} values, not {image.Length}");
        return kind switch
        {
            CorruptionKind.GaussianNoise => GaussianNoise(image, NoiseSigma[severity], seed),
            CorruptionKind.GaussianBlur => GaussianBlur(image, channels, height, width, BlurSigma[severity]),
            CorruptionKind.Contrast => Contrast(image, channels, height * width, ContrastFactor[severity]),
            CorruptionKind.Rotation => Rotate(image, channels, height, width, RotationDegrees[severity]),
            CorruptionKind.Inversion => Invert(image, severity > 0),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>
    /// A corrupted copy of <paramref name="data"/> (float images in [0,1]; byte pixels are scaled by 1/255 first,
    /// float datasets are taken to be in [0,1]); image i's noise is seeded with <paramref name="seed"/> + i.
    /// </summary>
    public static ImageDataset Apply(CorruptionKind kind, int severity, ImageDataset data, ulong seed)
    {
        int plane = data.Channels * data.Height * data.Width;
        var output = new float[(long)data.Count * plane];
        var image = new float[plane];
        for (int i = 0; i < data.Count; i++)
        {
            if (data.Values is { } v) v.AsSpan(i * plane, plane).CopyTo(image);
            else
            {
                var p = data.Pixels.AsSpan(i * plane, plane);
                for (int j = 0; j < plane; j++) image[j] = p[j] / 255f;
            }
            Apply(kind, severity, image, data.Channels, data.Height, data.Width, seed + (ulong)i).CopyTo(output.AsSpan(i * plane, plane));
        }
        return new ImageDataset(output, data.Labels.ToArray(), data.Channels, data.Height, data.Width, data.Classes,
            $"{data.Source} + {Name(kind)} severity {severity}");
    }

    static void CheckSeverity(int severity)
    {
        if (severity is < 0 or > MaxSeverity) throw new ArgumentOutOfRangeException(nameof(severity), severity, $"severity is 0..{MaxSeverity}");
    }

    static float Clip(double v) => (float)Math.Clamp(v, 0.0, 1.0);

    static float[] GaussianNoise(ReadOnlySpan<float> image, double sigma, ulong seed)
    {
        var result = new float[image.Length];
        if (sigma == 0) { image.CopyTo(result); return result; }
        var rng = new SplitMix64(seed);
        for (int i = 0; i < image.Length; i++)
        {
            // Box–Muller from SplitMix64, so the noise is the same on every platform (System.Random promises no sequence).
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
            result[i] = Clip(image[i] + sigma * z);
        }
        return result;
    }

    static float[] GaussianBlur(ReadOnlySpan<float> image, int channels, int height, int width, double sigma)
    {
        var result = image.ToArray();
        if (sigma == 0) return result;
        int radius = (int)Math.Ceiling(3 * sigma);
        var kernel = new double[2 * radius + 1];
        double total = 0;
        for (int k = -radius; k <= radius; k++) total += kernel[k + radius] = Math.Exp(-k * k / (2 * sigma * sigma));
        for (int k = 0; k < kernel.Length; k++) kernel[k] /= total;
        var temp = new float[result.Length];
        for (int c = 0; c < channels; c++)
        {
            int o = c * height * width;
            for (int y = 0; y < height; y++)           // rows
                for (int x = 0; x < width; x++)
                {
                    double s = 0;
                    for (int k = -radius; k <= radius; k++) s += kernel[k + radius] * result[o + y * width + Math.Clamp(x + k, 0, width - 1)];
                    temp[o + y * width + x] = (float)s;
                }
            for (int y = 0; y < height; y++)           // columns
                for (int x = 0; x < width; x++)
                {
                    double s = 0;
                    for (int k = -radius; k <= radius; k++) s += kernel[k + radius] * temp[o + Math.Clamp(y + k, 0, height - 1) * width + x];
                    result[o + y * width + x] = Clip(s);
                }
        }
        return result;
    }

    static float[] Contrast(ReadOnlySpan<float> image, int channels, int plane, double factor)
    {
        var result = new float[image.Length];
        for (int c = 0; c < channels; c++)
        {
            var src = image.Slice(c * plane, plane);
            double mean = 0;
            foreach (var v in src) mean += v;
            mean /= plane;
            for (int i = 0; i < plane; i++) result[c * plane + i] = Clip((src[i] - mean) * factor + mean);
        }
        return result;
    }

    static float[] Rotate(ReadOnlySpan<float> image, int channels, int height, int width, double degrees)
    {
        var result = new float[image.Length];
        if (degrees == 0) { image.CopyTo(result); return result; }
        double a = degrees * Math.PI / 180, cos = Math.Cos(a), sin = Math.Sin(a);
        double cy = (height - 1) / 2.0, cx = (width - 1) / 2.0;
        var src = image.ToArray();
        for (int c = 0; c < channels; c++)
        {
            int o = c * height * width;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    // Inverse map: the source point that lands on (x, y) after a counter-clockwise rotation.
                    double dx = x - cx, dy = y - cy;
                    double sx = cos * dx - sin * dy + cx, sy = sin * dx + cos * dy + cy;
                    int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                    double fx = sx - x0, fy = sy - y0;
                    double At(int yy, int xx) => yy < 0 || yy >= height || xx < 0 || xx >= width ? 0 : src[o + yy * width + xx];
                    double v = (1 - fy) * ((1 - fx) * At(y0, x0) + fx * At(y0, x0 + 1)) + fy * ((1 - fx) * At(y0 + 1, x0) + fx * At(y0 + 1, x0 + 1));
                    result[o + y * width + x] = Clip(v);
                }
        }
        return result;
    }

    static float[] Invert(ReadOnlySpan<float> image, bool invert)
    {
        var result = new float[image.Length];
        for (int i = 0; i < image.Length; i++) result[i] = invert ? Clip(1.0 - image[i]) : image[i];
        return result;
    }
}
