using ModelSoups.Evaluation;
using ModelSoups.Onnx.Format;

namespace ModelSoups.Onnx.Tests;

public sealed class OnnxEvaluatorTests : IDisposable
{
    private const int N = 7;
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-onnx-").FullName;
    private readonly TinyCnn _graph = TinyCnn.Random(1);
    private readonly float[] _x;

    public OnnxEvaluatorTests()
    {
        var rng = new Random(2);
        _x = Enumerable.Range(0, N * 16).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ModelFile(int batch = 0)
    {
        var path = Path.Combine(_dir, $"tiny-{batch}.onnx");
        File.WriteAllBytes(path, _graph.ToOnnx(batch));
        return path;
    }

    private TestCheckpoint Data(int[] labels) => new TestCheckpoint("heldout")
        .F32("inputs", [N, 1, 4, 4], _x)
        .I64("labels", [labels.Length], labels.Select(l => (long)l).ToArray());

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>Labels: the reference prediction for even examples, a wrong class for odd ones.</summary>
    private int[] LabelsFor(float[] logits) => Enumerable.Range(0, N).Select(e =>
    {
        int p = ArgMax(logits.AsSpan(e * TinyCnn.Classes, TinyCnn.Classes));
        return e % 2 == 0 ? p : (p + 1) % TinyCnn.Classes;
    }).ToArray();

    [Fact]
    public void Logits_accuracy_and_loss_match_an_independent_forward_pass()
    {
        var expected = _graph.Forward(_x, N);
        var labels = LabelsFor(expected);
        var ev = new OnnxEvaluator(ModelFile(), Data(labels));
        var r = ev.Evaluate(Candidate.FromCheckpoint("same", _graph.ToCheckpoint()));

        Assert.Equal(N * TinyCnn.Classes, r.Logits!.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], r.Logits[i], 1e-4f);
        Assert.Equal(labels, r.Labels);
        Assert.Equal(4.0 / 7, r.Score, 12);                  // 4 even examples right, 3 odd wrong
        Assert.Equal(4.0 / 7, r.Metrics[ClassificationMetrics.Top1], 12);
        double loss = 0;
        for (int e = 0; e < N; e++)
        {
            var row = expected.AsSpan(e * TinyCnn.Classes, TinyCnn.Classes).ToArray().Select(v => (double)v).ToArray();
            loss += Math.Log(row.Sum(Math.Exp)) - row[labels[e]];
        }
        Assert.Equal(loss / N, r.Metrics[ClassificationMetrics.Loss], 4);
        Assert.True(r.Metrics.ContainsKey(ClassificationMetrics.Top5));
        Assert.Equal(7, r.Metrics[ClassificationMetrics.Examples]);
        Assert.True(ev.ProvidesLogits);
        Assert.False(ev.NeedsFolder);
    }

    [Theory]
    [InlineData("bn.weight")]
    [InlineData("bn.running_mean")]
    [InlineData("conv.weight")]
    public void Candidate_weights_change_the_outputs_with_full_optimisation(string tensor)
    {
        // ONNX Runtime folds BatchNormalization into Conv at ORT_ENABLE_ALL; an AddInitializer override of a
        // folded weight would be silently ignored. Rewritten weights must show up in the outputs.
        var changed = TinyCnn.Random(1);
        var target = tensor switch { "bn.weight" => changed.BnScale, "bn.running_mean" => changed.BnMean, _ => changed.ConvW };
        for (int i = 0; i < target.Length; i++) target[i] = target[i] * -1.5f + 0.3f;
        var expected = changed.Forward(_x, N);
        Assert.NotEqual(_graph.Forward(_x, N), expected);

        var ev = new OnnxEvaluator(ModelFile(), Data(new int[N]));
        var r = ev.Evaluate(Candidate.FromCheckpoint("changed", changed.ToCheckpoint()));
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], r.Logits![i], 1e-4f);
    }

    [Fact]
    public void Partial_checkpoints_and_bf16_tensors_are_accepted()
    {
        // Only fc.* given (others keep the graph's values); fc given in bf16 with bf16-exact values.
        var changed = TinyCnn.Random(1);
        for (int i = 0; i < changed.FcW.Length; i++) changed.FcW[i] = (i - 5) * 0.25f;
        var candidate = new TestCheckpoint().BF16("fc.weight", [TinyCnn.Classes, 2], changed.FcW).F16("fc.bias", [TinyCnn.Classes], changed.FcB.Select(v => (float)(Half)v).ToArray());
        for (int i = 0; i < changed.FcB.Length; i++) changed.FcB[i] = (float)(Half)changed.FcB[i];
        var r = new OnnxEvaluator(ModelFile(), Data(new int[N])).Evaluate(Candidate.FromCheckpoint("bf16", candidate));
        var expected = changed.Forward(_x, N);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], r.Logits![i], 1e-4f);
    }

    [Fact]
    public void Batching_and_a_fixed_batch_dimension_give_the_same_logits()
    {
        var candidate = Candidate.FromCheckpoint("c", _graph.ToCheckpoint());
        var all = new OnnxEvaluator(ModelFile(), Data(new int[N])).Evaluate(candidate).Logits!;
        var small = new OnnxEvaluator(ModelFile(), Data(new int[N]), new OnnxEvaluatorOptions { BatchSize = 3 }).Evaluate(candidate).Logits!;
        var fixedBatch = new OnnxEvaluator(ModelFile(batch: 4), Data(new int[N])).Evaluate(candidate).Logits!;
        Assert.Equal(all, small);
        Assert.Equal(all, fixedBatch);
    }

    [Fact]
    public void Unknown_tensor_names_are_refused_with_their_names()
    {
        var candidate = _graph.ToCheckpoint().I64("bn.num_batches_tracked", [], 100).F32("head.extra", [1], 1);
        var ev = new OnnxEvaluator(ModelFile(), Data(new int[N]));
        var e = Assert.Throws<EvaluationException>(() => ev.Evaluate(Candidate.FromCheckpoint("run-3", candidate)));
        // Only the float tensor is an error; the integer buffer torch.onnx drops is skipped (issue #11).
        Assert.Contains("1 tensor(s) with no initializer", e.Message);
        Assert.DoesNotContain("bn.num_batches_tracked", e.Message);
        Assert.Contains("head.extra", e.Message);
        Assert.Equal("run-3", e.Candidate);
    }

    [Fact]
    public void Integer_buffers_without_an_initializer_are_skipped_with_a_note()
    {
        // A PyTorch BatchNorm checkpoint: num_batches_tracked has no initializer in a torch.onnx export.
        var candidate = _graph.ToCheckpoint().I64("bn.num_batches_tracked", [], 100);
        var ev = new OnnxEvaluator(ModelFile(), Data(new int[N]));
        var plain = ev.Evaluate(Candidate.FromCheckpoint("plain", _graph.ToCheckpoint()));
        var r = ev.Evaluate(Candidate.FromCheckpoint("bn", candidate));
        Assert.Equal(plain.Score, r.Score);
        Assert.Equal("skipped 1 integer tensor(s) that have no initializer in the ONNX graph (buffers such as num_batches_tracked do not affect inference): bn.num_batches_tracked.", Assert.Single(ev.Notes));
    }

    [Fact]
    public void Name_map_renames_and_drops()
    {
        var changed = TinyCnn.Random(1);
        changed.FcB[0] += 10;
        var ck = new TestCheckpoint().F32("classifier.bias", [TinyCnn.Classes], changed.FcB).I64("bn.num_batches_tracked", [], 5);
        var map = OnnxNameMap.Parse("# ckpt onnx\nclassifier.bias fc.bias\nbn.num_batches_tracked -\n");
        var r = new OnnxEvaluator(ModelFile(), Data(new int[N]), new OnnxEvaluatorOptions { NameMap = map })
            .Evaluate(Candidate.FromCheckpoint("mapped", ck));
        var expected = changed.Forward(_x, N);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], r.Logits![i], 1e-4f);

        var json = OnnxNameMap.Parse("""{"classifier.bias": "fc.bias", "bn.num_batches_tracked": null}""");
        Assert.True(json.TryMap("classifier.bias", out var name) && name == "fc.bias");
        Assert.False(json.TryMap("bn.num_batches_tracked", out _));
        Assert.True(json.TryMap("other", out name) && name == "other");
        Assert.Throws<ModelSoupsException>(() => OnnxNameMap.Parse("a b c"));
        Assert.Throws<ModelSoupsException>(() => OnnxNameMap.Parse("a x\nb x"));
    }

    [Fact]
    public void Shape_and_dtype_mismatches_are_refused()
    {
        var ev = new OnnxEvaluator(ModelFile(), Data(new int[N]));
        var shape = new TestCheckpoint().F32("fc.bias", [2, 3], 1, 2, 3, 4, 5, 6);
        Assert.Contains("fc.bias is [2, 3], initializer [6]", Assert.Throws<EvaluationException>(() => ev.Evaluate(Candidate.FromCheckpoint("s", shape))).Message);
        var dtype = new TestCheckpoint().I32("fc.bias", [6], 1, 2, 3, 4, 5, 6);
        Assert.Contains("fc.bias is I32", Assert.Throws<EvaluationException>(() => ev.Evaluate(Candidate.FromCheckpoint("d", dtype))).Message);
    }

    [Theory]
    [InlineData("this is not an onnx model at all")]
    [InlineData("")]
    public void A_file_that_is_not_onnx_is_a_clean_error(string content)
    {
        var path = Path.Combine(_dir, "bad.onnx");
        File.WriteAllText(path, content);
        var e = Assert.Throws<OnnxFormatException>(() => new OnnxEvaluator(path, Data(new int[N])));
        Assert.Contains("not", e.Message);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void A_truncated_onnx_file_is_a_clean_error()
    {
        var path = Path.Combine(_dir, "cut.onnx");
        var bytes = _graph.ToOnnx();
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<OnnxFormatException>(() => new OnnxEvaluator(path, Data(new int[N])));
        Assert.Contains("not a valid ONNX model", e.Message);
    }

    [Fact]
    public void Missing_model_file_is_a_clean_error() =>
        Assert.Throws<ModelSoupsException>(() => new OnnxEvaluator(Path.Combine(_dir, "nope.onnx"), Data(new int[N])));

    [Fact]
    public void Inputs_and_labels_of_different_lengths_are_refused()
    {
        var e = Assert.Throws<ModelSoupsException>(() => new OnnxEvaluator(ModelFile(), Data(new int[N - 1])));
        Assert.Contains("7 examples but the labels tensor has 6", e.Message);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(-1)]
    public void Labels_out_of_range_are_refused(int bad)
    {
        var labels = new int[N];
        labels[3] = bad;
        var e = Assert.Throws<ModelSoupsException>(() => new OnnxEvaluator(ModelFile(), Data(labels)));
        Assert.Contains($"label {bad} of example 3 is out of range", e.Message);
    }

    [Fact]
    public void Missing_data_tensor_and_wrong_input_shape_are_refused()
    {
        Assert.Contains("no tensor 'images'", Assert.Throws<ModelSoupsException>(() =>
            new OnnxEvaluator(ModelFile(), Data(new int[N]), new OnnxEvaluatorOptions { InputsTensor = "images" })).Message);
        var data = new TestCheckpoint().F32("inputs", [N, 16], _x).I64("labels", [N], new long[N]);
        Assert.Contains("rank 4", Assert.Throws<ModelSoupsException>(() => new OnnxEvaluator(ModelFile(), data)).Message);
    }

    [Fact]
    public void External_data_initializers_are_inlined()
    {
        var model = Path.Combine(_dir, "ext.onnx");
        File.WriteAllBytes(model, _graph.ToOnnx(externalTensor: "fc.weight", externalFile: Path.Combine(_dir, "ext.data")));
        var r = new OnnxEvaluator(model, Data(new int[N])).Evaluate(Candidate.FromCheckpoint("c", new TestCheckpoint()));
        var expected = _graph.Forward(_x, N);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], r.Logits![i], 1e-4f);
    }

    [Fact]
    public void Cuda_when_unavailable_is_a_clean_error()
    {
        var ev = new OnnxEvaluator(ModelFile(), Data(new int[N]), new OnnxEvaluatorOptions { UseCuda = true });
        try
        {
            ev.Evaluate(Candidate.FromCheckpoint("c", _graph.ToCheckpoint()));
        }
        catch (EvaluationException e)
        {
            Assert.Contains("CUDA", e.Message);
        }
    }
}
