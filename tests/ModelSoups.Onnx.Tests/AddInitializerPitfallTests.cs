using Microsoft.ML.OnnxRuntime;

namespace ModelSoups.Onnx.Tests;

/// <summary>
/// Pins the ONNX Runtime behaviour that made <see cref="OnnxEvaluator"/> rewrite model bytes instead of
/// using <c>SessionOptions.AddInitializer</c>: with full optimisation, Conv+BatchNormalization are fused at
/// load time and an override of the BatchNorm scale is silently ignored. If this test starts failing after
/// an ONNX Runtime upgrade, the pitfall is gone (the evaluator stays correct either way).
/// </summary>
public sealed class AddInitializerPitfallTests
{
    [Fact]
    public void AddInitializer_override_of_a_fused_BatchNorm_weight_is_silently_ignored()
    {
        var bytes = TinyCnn.Random(1).ToOnnx();
        var x = Enumerable.Range(0, 16).Select(i => i * 0.1f - 0.5f).ToArray();
        float[] Run(GraphOptimizationLevel level, float[]? bnScale)
        {
            using var so = new SessionOptions { GraphOptimizationLevel = level };
            using var scale = bnScale is null ? null : OrtValue.CreateTensorValueFromMemory(bnScale, [2]);
            if (scale is not null) so.AddInitializer("bn.weight", scale);
            using var session = new InferenceSession(bytes, so);
            using var input = OrtValue.CreateTensorValueFromMemory(x, [1, 1, 4, 4]);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, ["x"], [input], ["logits"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        float[] newScale = [-3f, 2f];
        var original = Run(GraphOptimizationLevel.ORT_ENABLE_ALL, null);
        Assert.NotEqual(original, Run(GraphOptimizationLevel.ORT_DISABLE_ALL, newScale));   // the override works unoptimised
        Assert.Equal(original, Run(GraphOptimizationLevel.ORT_ENABLE_ALL, newScale));      // and is ignored when fused
    }
}
