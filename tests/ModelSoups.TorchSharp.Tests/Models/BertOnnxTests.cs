using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelSoups.Onnx.Format;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Models;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Models;

public class BertOnnxTests
{
    // Two sentences, the second padded with 0 = [PAD] (ids are from the MiniLM vocab: 101 [CLS], 102 [SEP]).
    static readonly long[][] Ids =
    [
        [101, 7592, 1010, 2088, 999, 2023, 2003, 1037, 3231, 102],
        [101, 2026, 3899, 102, 0, 0, 0, 0, 0, 0],
    ];

    static (float[] Hidden, float[] Pooled) RunOrt(byte[] model)
    {
        int n = Ids.Length, t = Ids[0].Length;
        var ids = Ids.SelectMany(r => r).ToArray();
        var mask = ids.Select(i => i == 0 ? 0L : 1L).ToArray();
        using var session = new InferenceSession(model);
        using var results = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, [n, t])),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, [n, t])),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[n * t], [n, t])),
        ]);
        return (results.First(r => r.Name == "last_hidden_state").AsEnumerable<float>().ToArray(),
                results.First(r => r.Name != "last_hidden_state").AsEnumerable<float>().ToArray());
    }

    static global::TorchSharp.torch.Tensor IdTensor() => tensor(Ids.SelectMany(r => r).ToArray()).reshape(Ids.Length, Ids[0].Length);

    [Fact]
    public void MiniLm_encoder_matches_onnx_runtime_to_1e4_with_padding()
    {
        var bytes = MiniLmPackage.ModelBytes();
        var (expectedHidden, expectedPooled) = RunOrt(bytes);
        using var encoder = BertEncoder.FromOnnx(OnnxModel.Parse(bytes));
        using var _ = no_grad();
        using var ids = IdTensor();
        var (hidden, pooled) = encoder.Forward(ids, encoder.OwnParameters(), pooled: true);
        using (hidden)
        using (pooled)
        {
            Assert.Equal([2L, 10, 384], hidden.shape);
            var h = hidden.flatten().data<float>().ToArray();
            var p = pooled.flatten().data<float>().ToArray();
            Assert.Equal(expectedHidden.Length, h.Length);
            Assert.Equal(expectedPooled.Length, p.Length);
            double maxHidden = expectedHidden.Zip(h, (e, a) => Math.Abs(e - a)).Max();
            double maxPooled = expectedPooled.Zip(p, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(maxHidden <= 1e-4, $"last_hidden_state: max |ORT - TorchSharp| = {maxHidden}");
            Assert.True(maxPooled <= 1e-4, $"pooler: max |ORT - TorchSharp| = {maxPooled}");
            Assert.True(expectedHidden.Max(Math.Abs) > 0.5f, "hidden states should not be near zero");
        }
    }

    [Fact]
    public void Config_is_read_from_the_export()
    {
        var config = BertConfig.FromOnnx(OnnxModel.Parse(MiniLmPackage.ModelBytes()).Graph);
        // all-MiniLM-L6-v2's config.json: vocab 30522, hidden 384, 6 layers, 12 heads, intermediate 1536,
        // 512 positions, 2 token types, layer_norm_eps 1e-12.
        Assert.Equal(new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12), config with { LayerNormEps = Math.Round(config.LayerNormEps, 15) });
        Assert.Equal(32, config.HeadSize);
    }

    [Fact]
    public void Classifier_state_has_hugging_face_names_and_mean_pooling_ignores_padding()
    {
        using var model = BertClassifier.MiniLm(2);
        var state = ModuleState.Export(model).ToDictionary(t => t.Info.Name, t => t.Info.Shape);
        // 5 embedding tensors + 16 per layer × 6 + pooler 2 + classifier 2.
        Assert.Equal(5 + 16 * 6 + 2 + 2, state.Count);
        Assert.Equal([30522L, 384], state["embeddings.word_embeddings.weight"]);
        Assert.Equal([384L, 384], state["encoder.layer.5.attention.self.query.weight"]);
        Assert.Equal([1536L, 384], state["encoder.layer.0.intermediate.dense.weight"]);   // [out, in]
        Assert.Equal([384L, 1536], state["encoder.layer.0.output.dense.weight"]);
        Assert.Equal([384L], state["encoder.layer.3.output.LayerNorm.bias"]);
        Assert.Equal([384L, 384], state["pooler.dense.weight"]);
        Assert.Equal([2L, 384], state["classifier.weight"]);

        using var _ = no_grad();
        // A sentence alone and the same sentence padded to 10 tokens pool to the same embedding.
        using var alone = tensor(new long[] { 101, 2026, 3899, 102 }).reshape(1, 4);
        using var padded = tensor(Ids[1]).reshape(1, 10);
        using var a = model.Features(alone);
        using var b = model.Features(padded);
        double diff = (a - b).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"padding changed the pooled embedding by {diff}");
    }

    [Fact]
    public void Functional_forward_equals_the_module_forward()
    {
        using var model = BertClassifier.MiniLm(3);
        model.eval();
        using var _ = no_grad();
        var state = model.state_dict();
        using var ids = IdTensor();
        using var direct = model.call(ids);
        using var functional = model.Forward(ids, state);
        Assert.Equal(0f, (direct - functional).abs().max().item<float>());
    }

    [Fact]
    public void A_graph_that_is_not_bert_is_refused_with_a_clear_error()
    {
        var resnet = OnnxModel.Load(ResNet18Classifier.DefaultOnnxPath);
        var e = Assert.Throws<OnnxFormatException>(() => BertEncoder.FromOnnx(resnet, "resnet.onnx"));
        Assert.Contains("embeddings.word_embeddings.weight", e.Message);
    }

    [Fact]
    public void Resources_of_a_file_that_is_not_an_assembly_are_refused()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a PE file");
            var e = Assert.Throws<ModelSoupsException>(() => MiniLmPackage.ReadResource(path, MiniLmPackage.VocabResource));
            Assert.Contains("assembly", e.Message);
            var missing = Assert.Throws<ModelSoupsException>(() => MiniLmPackage.ReadResource(MiniLmPackage.DefaultPath, "no.such.resource"));
            Assert.Contains("no resource 'no.such.resource'", missing.Message);
        }
        finally { File.Delete(path); }
    }
}
