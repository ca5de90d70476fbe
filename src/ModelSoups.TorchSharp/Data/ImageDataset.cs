using System.Runtime.InteropServices;
using System.Security.Cryptography;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// Images and their class labels, held in managed memory: either bytes (0..255, e.g. Fashion-MNIST's IDX
/// files) or floats (e.g. a safetensors dataset that stores normalised inputs), C×H×W per image, row-major.
/// Labels are bytes, so at most 256 classes.
/// </summary>
public sealed class ImageDataset
{
    readonly float[]? _values;

    /// <summary>Gray byte images (one channel); checks that pixels and labels agree in count and that every label is below <paramref name="classes"/>.</summary>
    public ImageDataset(byte[] pixels, byte[] labels, int height, int width, int classes, string? source = null)
        : this(pixels, null, labels, 1, height, width, classes, source) { }

    /// <summary>Byte images with <paramref name="channels"/> channels ([N,C,H,W], 0..255).</summary>
    public ImageDataset(byte[] pixels, byte[] labels, int channels, int height, int width, int classes, string? source = null)
        : this(pixels, null, labels, channels, height, width, classes, source) { }

    /// <summary>Float images ([N,C,H,W], used as they are).</summary>
    public ImageDataset(float[] values, byte[] labels, int channels, int height, int width, int classes, string? source = null)
        : this(null, values, labels, channels, height, width, classes, source) { }

    ImageDataset(byte[]? pixels, float[]? values, byte[] labels, int channels, int height, int width, int classes, string? source)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height));
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels));
        if (classes is <= 0 or > 256) throw new ArgumentOutOfRangeException(nameof(classes), "1 to 256 classes are supported");
        long plane = (long)channels * height * width;
        long length = pixels?.LongLength ?? values!.LongLength;
        if (length != labels.LongLength * plane)
            throw new ModelSoupsException($"{length / plane} images but {labels.Length} labels", source);
        int bad = Array.FindIndex(labels, l => l >= classes);
        if (bad >= 0) throw new ModelSoupsException($"label {labels[bad]} of item {bad} is not below the {classes} classes", source);
        Pixels = pixels ?? []; _values = values; Labels = labels;
        Channels = channels; Height = height; Width = width; Classes = classes; Source = source;
    }

    /// <summary>Byte pixels (empty when the dataset holds floats, see <see cref="IsFloat"/>).</summary>
    public byte[] Pixels { get; }
    /// <summary>Float values (null when the dataset holds bytes).</summary>
    public float[]? Values => _values;
    public byte[] Labels { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int Classes { get; }
    public int Count => Labels.Length;
    /// <summary>Where the data came from, for messages.</summary>
    public string? Source { get; }
    /// <summary>True when the images are floats used as they are, false for bytes scaled to [0,1].</summary>
    public bool IsFloat => _values is not null;

    /// <summary>SHA-256 (hex, 32 digits) of the shape, the labels and the images: the data's identity in a run's fingerprint.</summary>
    public string ContentDigest()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (int n in (int[])[Channels, Height, Width, Classes, IsFloat ? 1 : 0]) hash.AppendData(BitConverter.GetBytes(n));
        hash.AppendData(Labels);
        if (_values is not null) hash.AppendData(MemoryMarshal.AsBytes(_values.AsSpan()));
        else hash.AppendData(Pixels);
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..32];
    }

    /// <summary>The selected items as ([n,C,H,W] float32: bytes scaled to [0,1], floats as stored; [n] int64 labels).</summary>
    public (Tensor Images, Tensor Labels) Batch(ReadOnlySpan<int> indices)
    {
        int plane = Channels * Height * Width;
        var x = new float[(long)indices.Length * plane];
        var y = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            var dst = x.AsSpan(i * plane, plane);
            if (_values is not null) _values.AsSpan((int)((long)k * plane), plane).CopyTo(dst);
            else
            {
                var src = Pixels.AsSpan((int)((long)k * plane), plane);
                for (int p = 0; p < plane; p++) dst[p] = src[p] / 255f;
            }
            y[i] = Labels[k];
        }
        return (tensor(x).reshape(indices.Length, Channels, Height, Width), tensor(y));
    }

    /// <summary>A new dataset of the selected items, in the given order (data copied).</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices)
    {
        int plane = Channels * Height * Width;
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++) labels[i] = Labels[indices[i]];
        if (_values is not null)
        {
            var v = new float[(long)indices.Length * plane];
            for (int i = 0; i < indices.Length; i++) _values.AsSpan(indices[i] * plane, plane).CopyTo(v.AsSpan(i * plane, plane));
            return new ImageDataset(v, labels, Channels, Height, Width, Classes, Source);
        }
        var p = new byte[(long)indices.Length * plane];
        for (int i = 0; i < indices.Length; i++) Pixels.AsSpan(indices[i] * plane, plane).CopyTo(p.AsSpan(i * plane, plane));
        return new ImageDataset(p, labels, Channels, Height, Width, Classes, Source);
    }

    /// <summary>A deterministic random sample of <paramref name="count"/> items (all items when count ≥ <see cref="Count"/>), in index order.</summary>
    public ImageDataset Sample(int count, ulong seed)
    {
        if (count >= Count) return this;
        var chosen = HeldOutSplit.Create(Count, (double)count / Count, seed).HeldOut;
        return Subset(chosen);
    }
}
