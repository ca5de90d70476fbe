namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// One operator of an <see cref="OnnxGraphModule"/> as data: what it is, which values it reads and writes, and the
/// submodule that holds its weights. Alignment derives permutation specs from these (which tensor axes share
/// channels), without running the graph.
/// </summary>
/// <param name="OpType">The ONNX operator (<c>Conv</c>, <c>BatchNormalization</c>, <c>Add</c>, …).</param>
/// <param name="Module">The submodule name of its weights (state names <c>{Module}.weight</c> …); for stateless operators the name it would have.</param>
/// <param name="Inputs">The data values it reads (initializers excluded).</param>
/// <param name="Output">The value it writes.</param>
/// <param name="Conv">Geometry of a <c>Conv</c>; null for other operators.</param>
public sealed record OnnxGraphStep(string OpType, string Module, IReadOnlyList<string> Inputs, string Output, ConvGeometry? Conv);

/// <summary>A convolution's geometry as the module applies it.</summary>
/// <param name="OutChannels">Output channels (weight axis 0).</param>
/// <param name="InChannels">Input channels (weight axis 1 × groups).</param>
/// <param name="Kernel">Kernel height and width.</param>
/// <param name="Stride">Stride per spatial axis.</param>
/// <param name="Padding">Symmetric zero padding per spatial axis.</param>
/// <param name="ExplicitPad">Asymmetric zero padding (left, right, top, bottom) applied before the convolution, or null.</param>
/// <param name="Dilation">Dilation per spatial axis.</param>
/// <param name="Groups">Channel groups (1: an ordinary convolution).</param>
/// <param name="HasBias">Whether the convolution has a bias.</param>
public sealed record ConvGeometry(long OutChannels, long InChannels, long[] Kernel, long[] Stride, long[] Padding, long[]? ExplicitPad, long[] Dilation,
    long Groups, bool HasBias);
