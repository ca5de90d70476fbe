using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelSoups.Onnx.Format;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Models;

public class OnnxResNetTests
{
    public static string ResNetPath => ResNet18Classifier.DefaultOnnxPath;

    static float[] RunOrt(byte[] model, string input, float[] data, long[] shape)
    {
        using var session = new InferenceSession(model);
        var t = new DenseTensor<float>(data, shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, t)]);
        return results.First().AsEnumerable<float>().ToArray();
    }

    static float[] RunTorch(OnnxGraphModule m, float[] data, long[] shape)
    {
        m.eval();
        using var _ = no_grad();
        using var x = tensor(data).reshape(shape);
        using var y = m.call(x);
        return y.flatten().data<float>().ToArray();
    }

    static float[] Random(int n, int seed, float scale, float shift = 0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale + shift).ToArray();
    }

    [Fact]
    public void Resnet18_forward_matches_onnx_runtime_at_224()
    {
        var bytes = File.ReadAllBytes(ResNetPath);
        using var module = new OnnxGraphModule(OnnxModel.Parse(bytes, ResNetPath));
        long[] shape = [1, 3, 224, 224];
        var input = Random(3 * 224 * 224, 1, 120f); // roughly the preprocessed range (0..255 minus ~115)
        var expected = RunOrt(bytes, "Input247", input, shape);
        var actual = RunTorch(module, input, shape);
        Assert.Equal(512, actual.Length);
        double maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(maxDiff <= 1e-4, $"max |ORT - TorchSharp| = {maxDiff}");
        Assert.True(expected.Max() > 0.1f, "features should not be all zero");
    }

    [Fact]
    public void Resnet18_backbone_has_named_trainable_state_and_maps_back_to_initializers()
    {
        using var m = ResNet18Classifier.FromOnnx(10);
        var state = ModuleState.Export(m);
        Assert.Equal(22 + 22 * 2 + 2, m.parameters().Count()); // convs (no bias), BN γ and β, fc weight and bias
        Assert.Contains(state, t => t.Info.Name == "backbone.Convolution249.weight" && t.Info.Shape.SequenceEqual([64L, 3, 7, 7]));
        Assert.Contains(state, t => t.Info.Name == "backbone.BatchNormalization251.running_var");
        Assert.Contains(state, t => t.Info.Name == "backbone.BatchNormalization251.num_batches_tracked");
        Assert.Contains(state, t => t.Info.Name == "fc.weight" && t.Info.Shape.SequenceEqual([10L, 512]));
        Assert.Equal(110, m.Backbone.InitializerNames.Count);  // every ONNX weight lands in the module
        Assert.Equal("Parameter91", m.Backbone.InitializerNames["Convolution249.weight"]);
    }

    [Fact]
    public void Resnet18_classifier_runs_and_trains_at_32px()
    {
        manual_seed(3);
        using var m = ResNet18Classifier.FromOnnx(10);
        using var gray = rand(4, 1, 28, 28);
        using var x = ResNet18Preprocessing.FromGray(gray, 32);
        Assert.Equal([4L, 3, 32, 32], x.shape);
        m.train();
        using var opt = optim.SGD(m.parameters(), 0.01);
        using var y = tensor(new long[] { 0, 1, 2, 3 });
        float first = 0, last = 0;
        for (int i = 0; i < 5; i++)
        {
            opt.zero_grad();
            using var loss = nn.functional.cross_entropy(m.call(x), y);
            loss.backward();
            opt.step();
            last = loss.item<float>();
            if (i == 0) first = last;
        }
        Assert.True(last < first, $"loss {first} → {last}");
    }

    [Fact]
    public void Preprocessing_means_are_the_channel_averages_of_the_packaged_mean_image()
    {
        var prep = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx"));
        Assert.Equal(["Split", "Concat", "Sub"], prep.Graph.Nodes.Select(n => n.OpType)); // RGB → BGR, minus mean image
        var mean = prep.Graph.InitializersByName["MeanImage"].ToFloatArray();
        int plane = 224 * 224;
        for (int c = 0; c < 3; c++)
            Assert.Equal(ResNet18Preprocessing.MeanBgr[c], mean.Skip(c * plane).Take(plane).Average(v => (double)v), 3);
        using var white = ones(1, 1, 28, 28);
        using var x = ResNet18Preprocessing.FromGray(white, 28);
        Assert.Equal(255f - 103.062624f, x[0, 0, 0, 0].item<float>(), 4);
        Assert.Equal(255f - 123.151631f, x[0, 2, 5, 5].item<float>(), 4);
    }

    [Fact]
    public void Asymmetric_pads_conv_bias_maxpool_gap_flatten_gemm_match_onnx_runtime()
    {
        // Pads [top, left, bottom, right] = [1, 0, 0, 2] on a conv with bias and on a max-pool, negative
        // inputs so −∞ max-pool padding matters, then GlobalAveragePool → Flatten → Gemm(transB).
        var bytes = new OnnxModelBuilder()
            .Initializer("W", [4, 2, 3, 3], Random(72, 2, 0.5f))
            .Initializer("B", [4], Random(4, 3, 0.5f))
            .Initializer("G", [3, 4], Random(12, 4, 0.5f))
            .Initializer("C", [3], Random(3, 5, 0.5f))
            .Node("Conv", ["X", "W", "B"], ["c"], OnnxAttribute.FromInts("kernel_shape", 3, 3), OnnxAttribute.FromInts("strides", 2, 1),
                  OnnxAttribute.FromInts("pads", 1, 0, 0, 2))
            .Node("MaxPool", ["c"], ["p"], OnnxAttribute.FromInts("kernel_shape", 2, 2), OnnxAttribute.FromInts("strides", 2, 2),
                  OnnxAttribute.FromInts("pads", 0, 1, 1, 0))
            .Node("GlobalAveragePool", ["p"], ["g"])
            .Node("Flatten", ["g"], ["f"], OnnxAttribute.FromInt("axis", 1))
            .Node("Gemm", ["f", "G", "C"], ["Y"], OnnxAttribute.FromInt("transB", 1))
            .Input("X", OnnxDataType.Float, 2, 2, 7, 6)
            .Output("Y", OnnxDataType.Float, 2, 3)
            .ToBytes();
        long[] shape = [2, 2, 7, 6];
        var input = Random(2 * 2 * 7 * 6, 6, 1f, -0.5f);
        var expected = RunOrt(bytes, "X", input, shape);
        using var module = new OnnxGraphModule(OnnxModel.Parse(bytes));
        var actual = RunTorch(module, input, shape);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() <= 1e-5);
    }

    [Fact]
    public void Core_reader_reads_the_packaged_resnet18()
    {
        var m = OnnxModel.Load(ResNetPath);
        Assert.Equal(110, m.Graph.Initializers.Count);
        Assert.All(m.Graph.Initializers, t => Assert.StartsWith(t.Name.StartsWith("Param") ? "Parameter" : "Constant", t.Name));
        Assert.Equal("Input247", Assert.Single(m.Graph.DataInputs).Name);
        Assert.Equal([1L, 3, 224, 224], m.Graph.Inputs[0].Shape.Select(d => d!.Value));
        Assert.Equal(22, m.Graph.Nodes.Count(n => n.OpType == "Conv"));
    }

    [Fact]
    public void Unsupported_operator_is_a_user_error()
    {
        var bytes = new OnnxModelBuilder().Node("Softmax", ["X"], ["Y"])
            .Input("X", OnnxDataType.Float, 1, 2).Output("Y", OnnxDataType.Float, 1, 2).ToBytes();
        var e = Assert.Throws<OnnxFormatException>(() => new OnnxGraphModule(OnnxModel.Parse(bytes), path: "m.onnx"));
        Assert.Contains("Softmax", e.Message);
    }
}
