using System.Globalization;
using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// An image-classification dataset as one safetensors file: <c>inputs</c> [N,C,H,W] or [N,H,W]
/// (uint8 pixels 0..255, or float32/float16/bfloat16 values used as they are) and <c>labels</c> [N]
/// (int64 or int32, 0 ≤ label &lt; classes ≤ 256). The class count is the metadata entry <c>classes</c>
/// when present, else the largest label + 1. Everything is checked from the header and labels before use.
/// </summary>
public static class SafetensorsDataset
{
    /// <summary>Tensor names.</summary>
    public const string InputsName = "inputs", LabelsName = "labels";
    /// <summary>Metadata key holding the class count.</summary>
    public const string ClassesKey = "classes";
    /// <summary>Most classes a dataset may have (labels are held as bytes).</summary>
    public const int MaxClasses = 256;

    /// <summary>Reads and validates the file; throws <see cref="ModelSoupsException"/> naming the file when it is malformed.</summary>
    public static ImageDataset Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var names = file.Tensors.Select(t => t.Name).ToList();
        var inputs = file.Find(InputsName) ?? throw new ModelSoupsException($"a dataset file needs a tensor '{InputsName}' ([N,C,H,W] or [N,H,W]); it has {Describe(names)}", path);
        var labels = file.Find(LabelsName) ?? throw new ModelSoupsException($"a dataset file needs a tensor '{LabelsName}' ([N] int64 or int32); it has {Describe(names)}", path);
        var extra = names.Where(n => n is not (InputsName or LabelsName)).ToList();
        if (extra.Count > 0) throw new ModelSoupsException($"a dataset file holds only '{InputsName}' and '{LabelsName}', this one also has '{extra[0]}'", path);

        var shape = inputs.Shape;
        if (shape.Length is not (3 or 4))
            throw new ModelSoupsException($"'{InputsName}' must be [N,C,H,W] or [N,H,W], it is {inputs.Info.ShapeText}", path);
        if (labels.Shape.Length != 1)
            throw new ModelSoupsException($"'{LabelsName}' must be one-dimensional [N], it is {labels.Info.ShapeText}", path);
        long n = shape[0];
        if (labels.Shape[0] != n)
            throw new ModelSoupsException($"'{InputsName}' has {n} items but '{LabelsName}' has {labels.Shape[0]}", path);
        int channels = shape.Length == 4 ? checked((int)shape[1]) : 1;
        int height = checked((int)shape[^2]), width = checked((int)shape[^1]);
        if (channels == 0 || height == 0 || width == 0)
            throw new ModelSoupsException($"'{InputsName}' {inputs.Info.ShapeText} has an empty image dimension", path);
        if (inputs.Info.ByteLength > Array.MaxLength)
            throw new ModelSoupsException($"'{InputsName}' is {inputs.Info.ByteLength} bytes, more than one array holds", path);
        if (inputs.DType is not (DType.U8 or DType.F32 or DType.F16 or DType.BF16))
            throw new ModelSoupsException($"'{InputsName}' is {inputs.DType}; uint8, float32, float16 or bfloat16 is needed", path);
        if (labels.DType is not (DType.I64 or DType.I32))
            throw new ModelSoupsException($"'{LabelsName}' is {labels.DType}; int64 or int32 is needed", path);

        var labelBytes = new byte[n];
        long max = -1;
        var raw = labels.GetBytes();
        for (long i = 0; i < n; i++)
        {
            long v = labels.DType == DType.I64
                ? MemoryMarshal.Read<long>(raw[(int)(i * 8)..])
                : MemoryMarshal.Read<int>(raw[(int)(i * 4)..]);
            if (v < 0 || v >= MaxClasses)
                throw new ModelSoupsException($"label {v} of item {i} is outside 0..{MaxClasses - 1}", path);
            labelBytes[i] = (byte)v;
            max = Math.Max(max, v);
        }
        int classes = (int)(max + 1);
        if (file.Metadata.TryGetValue(ClassesKey, out var text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out classes) || classes is < 1 or > MaxClasses)
                throw new ModelSoupsException($"metadata '{ClassesKey}' is '{text}', not a class count in 1..{MaxClasses}", path);
            if (max >= classes)
                throw new ModelSoupsException($"label {max} is not below the {classes} classes the metadata declares", path);
        }
        if (classes < 1) throw new ModelSoupsException("the dataset is empty and declares no class count", path);

        if (inputs.DType == DType.U8)
            return new ImageDataset(inputs.GetBytes().ToArray(), labelBytes, channels, height, width, classes, path);
        var values = new float[inputs.Info.ElementCount];
        DTypeConversion.ToSingle(inputs.DType, inputs.GetBytes(), values);
        int nonFinite = Array.FindIndex(values, v => !float.IsFinite(v));
        if (nonFinite >= 0)
            throw new ModelSoupsException($"'{InputsName}' holds a non-finite value at element {nonFinite}", path);
        return new ImageDataset(values, labelBytes, channels, height, width, classes, path);
    }

    /// <summary>
    /// Writes <paramref name="data"/> to <paramref name="path"/> (atomically): inputs [N,C,H,W] as uint8
    /// (byte datasets) or float32, labels int64, the class count in the metadata.
    /// </summary>
    public static void Write(string path, ImageDataset data)
    {
        long[] shape = [data.Count, data.Channels, data.Height, data.Width];
        byte[] inputBytes = data.IsFloat ? MemoryMarshal.AsBytes(data.Values.AsSpan()).ToArray() : data.Pixels;
        var labels = new long[data.Count];
        for (int i = 0; i < labels.Length; i++) labels[i] = data.Labels[i];
        SafetensorsFile.Write(path,
        [
            (new TensorInfo(InputsName, data.IsFloat ? DType.F32 : DType.U8, shape), inputBytes),
            (new TensorInfo(LabelsName, DType.I64, [data.Count]), MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()),
        ], new Dictionary<string, string> { [ClassesKey] = data.Classes.ToString(CultureInfo.InvariantCulture) });
    }

    static string Describe(List<string> names) =>
        names.Count == 0 ? "no tensors" : string.Join(", ", names.Take(5).Select(n => $"'{n}'")) + (names.Count > 5 ? ", …" : "");
}
