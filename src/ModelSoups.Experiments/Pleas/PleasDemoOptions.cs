using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;

namespace ModelSoups.Experiments.Pleas;

/// <summary>Settings of <see cref="PleasDemo.Run"/> (<c>soup demo --pleas --out DIR</c>); defaults are the documented run.</summary>
public sealed record PleasDemoOptions
{
    /// <summary>The demo folder; the PLeaS part goes to <c>DIR/pleas/</c>.</summary>
    public required string Out { get; init; }
    /// <summary>The data: <c>fashion-mnist</c>, or a dataset file or folder with 10 classes.</summary>
    public string Data { get; init; } = DatasetSplits.FashionMnistName;
    /// <summary>Architectures measured, each with its own two pairs (<c>mlp</c>, <c>cnn</c>).</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [ModelSpec.MlpName, ModelSpec.Cnn];
    /// <summary>MLP hidden sizes.</summary>
    public int[] Hidden { get; init; } = [256, 256];
    /// <summary>Training steps of each MLP.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>
    /// Training steps of each CNN: fewer than the MLP's, because a CNN step costs about 20 MLP steps on one core and the
    /// demo must fit in 10 minutes on the shared 2-core machine (four CNNs at 1 000 steps took half of a 17-minute run).
    /// </summary>
    public int CnnSteps { get; init; } = 500;
    /// <summary>Training batch size.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Budgets of PLeaS.</summary>
    public IReadOnlyList<double> Budgets { get; init; } = [1.0, 1.25, 1.5, 2.0];
    /// <summary>Unlabelled training images for matching and least squares (the cost of both grows linearly with it).</summary>
    public int Samples { get; init; } = 1000;
    /// <summary>Test images scored (seeded sample; null: all).</summary>
    public int? EvaluationLimit { get; init; }
    /// <summary>Classes of model A in the different-label-space pair (A: 0 … k−1, B: k … 9).</summary>
    public int SplitClass { get; init; } = 5;
}
