using System.Numerics;
using ModelSoups.Merging;

namespace ModelSoups.Tests.Merging;

/// <summary>Runs a method on small in-memory tensors, the way the engine will.</summary>
static class MergeRunner
{
    public static T[] Run<T>(string method, T[][] models, T[]? baseModel = null, Action<MergeParameters>? set = null,
        long[]? shape = null, ulong seed = 42, int? layer = null, int layerCount = 0, string name = "w")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var m = MergeMethods.Get(method);
        var p = new MergeParameters(m, models.Length);
        set?.Invoke(p);
        var output = new T[models[0].Length];
        m.Merge(Planned(m, Input(models, baseModel, p, shape ?? [models[0].Length], seed, layer, layerCount, name)), output);
        return output;
    }

    /// <summary>
    /// The planning step <c>MergePlan</c> takes once per tensor: checks the input's parameters (with its base use and
    /// tensor name, as the plan does) and binds the method's typed record. Merging never does it itself.
    /// </summary>
    public static MergeInput<T> Planned<T>(IMergeMethod m, MergeInput<T> input)
    {
        m.Validate(input.Parameters, input.HasBase, input.TensorName);
        return input;
    }

    public static MergeInput<T> Input<T>(T[][] models, T[]? baseModel, MergeParameters p, long[] shape, ulong seed = 42,
        int? layer = null, int layerCount = 0, string name = "w") => new()
    {
        Models = models.Select(x => (ReadOnlyMemory<T>)x).ToArray(),
        Base = baseModel ?? ReadOnlyMemory<T>.Empty,
        HasBase = baseModel is not null,
        Parameters = p,
        Shape = shape,
        Seed = seed,
        LayerIndex = layer,
        LayerCount = layerCount,
        TensorName = name,
    };

    /// <summary>Runs an element-wise method block by block, as the engine may.</summary>
    public static T[] RunBlocked<T>(IMergeMethod m, MergeInput<T> whole, int block) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = whole.Models[0].Length;
        var output = new T[n];
        for (int s = 0; s < n; s += block)
        {
            int len = Math.Min(block, n - s);
            var part = whole with
            {
                Models = whole.Models.Select(x => x.Slice(s, len)).ToArray(),
                Base = whole.HasBase ? whole.Base.Slice(s, len) : ReadOnlyMemory<T>.Empty,
                Offset = s,
            };
            m.Merge(part, output.AsSpan(s, len));
        }
        return output;
    }

    public static void Close(double[] expected, float[] actual, double tol = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    public static void Close(double[] expected, double[] actual, double tol = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }
}
