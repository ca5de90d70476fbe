using ModelSoups.Onnx.Format;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Alignment;

/// <summary>
/// A ResNet-18-shaped ONNX backbone small enough for fast tests, written with <see cref="OnnxModelBuilder"/>: a strided
/// stem with CNTK's asymmetric pads (conv+BN+ReLU, max-pool), an identity block on stream 1 (4 channels), a downsampling
/// block with a 1×1 conv+BN shortcut into stream 2 (6 channels), an identity block on stream 2, and the final pool —
/// the same operators and wiring as the ImageNet ResNet-18, at 16×16 inputs. Every weight and BatchNorm statistic is
/// seeded random, so no two units are alike.
/// </summary>
static class TinyResNet
{
    public const int Side = 16, Classes = 3;

    /// <summary>The ONNX model with weights from <paramref name="seed"/>.</summary>
    public static OnnxModel Onnx(long seed)
    {
        manual_seed(seed);
        var b = new OnnxModelBuilder { ProducerName = "modelsoups-tests", GraphName = "tiny_resnet" };
        void Conv(string input, string output, int cin, int cout, int k, int stride, long[] pads)
        {
            using var w = randn(cout, cin, k, k) * Math.Sqrt(2.0 / (cin * k * k));
            b.Initializer(output + ".w", [cout, cin, k, k], w.data<float>().ToArray());
            b.Node("Conv", [input, output + ".w"], [output], OnnxAttribute.FromInts("kernel_shape", k, k), OnnxAttribute.FromInts("strides", stride, stride),
                OnnxAttribute.FromInts("pads", pads));
        }
        void BatchNorm(string input, string output, int c)
        {
            using var gamma = randn(c) * 0.3 + 1; using var beta = randn(c) * 0.3;
            using var mean = randn(c) * 0.3; using var variance = rand(c) + 0.5;
            b.Initializer(output + ".g", [c], gamma.data<float>().ToArray());
            b.Initializer(output + ".b", [c], beta.data<float>().ToArray());
            b.Initializer(output + ".m", [c], mean.data<float>().ToArray());
            b.Initializer(output + ".v", [c], variance.data<float>().ToArray());
            b.Node("BatchNormalization", [input, output + ".g", output + ".b", output + ".m", output + ".v"], [output], OnnxAttribute.FromFloat("epsilon", 1e-5f));
        }
        void Block(string input, string output, int cin, int cout, int stride, string shortcut)
        {
            Conv(input, output + "_c1", cin, cout, 3, stride, [1, 1, 1, 1]);
            BatchNorm(output + "_c1", output + "_n1", cout);
            b.Node("Relu", [output + "_n1"], [output + "_r1"]);
            Conv(output + "_r1", output + "_c2", cout, cout, 3, 1, [1, 1, 1, 1]);
            BatchNorm(output + "_c2", output + "_n2", cout);
            b.Node("Add", [output + "_n2", shortcut], [output + "_add"]);
            b.Node("Relu", [output + "_add"], [output]);
        }
        Conv("x", "stem", 3, 4, 3, 2, [1, 1, 0, 0]);
        BatchNorm("stem", "stem_bn", 4);
        b.Node("Relu", ["stem_bn"], ["stem_relu"]);
        b.Node("MaxPool", ["stem_relu"], ["pool"], OnnxAttribute.FromInts("kernel_shape", 2, 2), OnnxAttribute.FromInts("strides", 2, 2));
        Block("pool", "block1", 4, 4, 1, "pool");
        Conv("block1", "short", 4, 6, 1, 2, [0, 0, 0, 0]);
        BatchNorm("short", "short_bn", 6);
        Block("block1", "block2", 4, 6, 2, "short_bn");
        Block("block2", "block3", 6, 6, 1, "block2");
        b.Node("AveragePool", ["block3"], ["features"], OnnxAttribute.FromInts("kernel_shape", 2, 2));
        var bytes = b.Input("x", OnnxDataType.Float, null, 3, Side, Side).Output("features", OnnxDataType.Float, null, 6, 1, 1).ToBytes();
        return OnnxModel.Parse(bytes, "tiny_resnet.onnx");
    }

    /// <summary>A classifier on the tiny backbone, head random, in evaluation mode.</summary>
    public static ResNet18Classifier Model(long seed)
    {
        var model = new ResNet18Classifier(Onnx(seed), Classes);
        model.eval();
        return model;
    }

    public static Tensor Inputs(long seed, int n = 24)
    {
        manual_seed(seed);
        return randn([n, 3, Side, Side]);
    }
}
