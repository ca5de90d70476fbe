using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Data;

/// <summary>Gray images (one byte per pixel, row-major) and their class labels, held in managed memory.</summary>
public sealed class ImageDataset
{
    /// <summary>Checks that pixels and labels agree in count and that every label is below <paramref name="classes"/>.</summary>
    public ImageDataset(byte[] pixels, byte[] labels, int height, int width, int classes, string? source = null)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height));
        if (pixels.LongLength != (long)labels.Length * height * width)
            throw new ModelSoupsException($"{pixels.LongLength / ((long)height * width)} images but {labels.Length} labels", source);
        int bad = Array.FindIndex(labels, l => l >= classes);
        if (bad >= 0) throw new ModelSoupsException($"label {labels[bad]} of item {bad} is not below the {classes} classes", source);
        Pixels = pixels; Labels = labels; Height = height; Width = width; Classes = classes;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public int Height { get; }
    public int Width { get; }
    public int Classes { get; }
    public int Count => Labels.Length;

    /// <summary>The selected items as ([n,1,H,W] float32 in [0,1], [n] int64 labels).</summary>
    public (Tensor Images, Tensor Labels) Batch(ReadOnlySpan<int> indices)
    {
        int plane = Height * Width;
        var x = new float[indices.Length * plane];
        var y = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            var src = Pixels.AsSpan(k * plane, plane);
            for (int p = 0; p < plane; p++) x[i * plane + p] = src[p] / 255f;
            y[i] = Labels[k];
        }
        return (tensor(x).reshape(indices.Length, 1, Height, Width), tensor(y));
    }
}
