using ModelSoups.Onnx.Format;

namespace ModelSoups.Onnx.Tests;

/// <summary>
/// A tiny classifier, built as ONNX protobuf bytes with the core's <see cref="OnnxModelBuilder"/> and computed independently in C#:
/// x [N,1,4,4] → Conv(2 filters 3×3, pad 1) → BatchNormalization → Relu → GlobalAveragePool → Flatten → Gemm → logits [N,6].
/// </summary>
internal sealed class TinyCnn
{
    public const int Classes = 6;
    public float[] ConvW = new float[2 * 9], ConvB = new float[2];
    public float[] BnScale = new float[2], BnBias = new float[2], BnMean = new float[2], BnVar = new float[2];
    public float[] FcW = new float[Classes * 2], FcB = new float[Classes];

    public static TinyCnn Random(int seed)
    {
        var rng = new Random(seed);
        float R() => (float)(rng.NextDouble() * 2 - 1);
        var m = new TinyCnn();
        for (int i = 0; i < m.ConvW.Length; i++) m.ConvW[i] = R();
        for (int i = 0; i < 2; i++)
        {
            m.ConvB[i] = R() * 0.1f; m.BnScale[i] = 1 + R() * 0.5f; m.BnBias[i] = R() * 0.5f;
            m.BnMean[i] = R() * 0.2f; m.BnVar[i] = 1 + R() * 0.5f;
        }
        for (int i = 0; i < m.FcW.Length; i++) m.FcW[i] = R() * 2;
        for (int i = 0; i < m.FcB.Length; i++) m.FcB[i] = R() * 0.1f;
        return m;
    }

    public TestCheckpoint ToCheckpoint(string location = "candidate") => new TestCheckpoint(location)
        .F32("conv.weight", [2, 1, 3, 3], ConvW).F32("conv.bias", [2], ConvB)
        .F32("bn.weight", [2], BnScale).F32("bn.bias", [2], BnBias)
        .F32("bn.running_mean", [2], BnMean).F32("bn.running_var", [2], BnVar)
        .F32("fc.weight", [Classes, 2], FcW).F32("fc.bias", [Classes], FcB);

    /// <summary>The forward pass in plain C# (double accumulation), the reference for ONNX Runtime's.</summary>
    public float[] Forward(float[] x, int n)
    {
        var logits = new float[n * Classes];
        for (int e = 0; e < n; e++)
        {
            var h = new double[2];
            for (int f = 0; f < 2; f++)
            {
                double pooled = 0;
                for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                {
                    double s = ConvB[f];
                    for (int di = -1; di <= 1; di++)
                    for (int dj = -1; dj <= 1; dj++)
                    {
                        int ii = i + di, jj = j + dj;
                        if (ii < 0 || ii >= 4 || jj < 0 || jj >= 4) continue;
                        s += ConvW[f * 9 + (di + 1) * 3 + (dj + 1)] * (double)x[e * 16 + ii * 4 + jj];
                    }
                    double bn = BnScale[f] * (s - BnMean[f]) / Math.Sqrt(BnVar[f] + 1e-5) + BnBias[f];
                    pooled += Math.Max(0, bn);
                }
                h[f] = pooled / 16;
            }
            for (int c = 0; c < Classes; c++)
                logits[e * Classes + c] = (float)(FcW[c * 2] * h[0] + FcW[c * 2 + 1] * h[1] + FcB[c]);
        }
        return logits;
    }

    /// <summary>
    /// The ONNX model. Initializer names are the checkpoint's; some are stored as float_data, others as
    /// raw_data, to exercise both encodings. <paramref name="batch"/> fixes the batch dimension (0: symbolic).
    /// </summary>
    public byte[] ToOnnx(int batch = 0, string? externalTensor = null, string? externalFile = null)
    {
        var model = new OnnxModelBuilder { ProducerName = "modelsoups-tests", GraphName = "tiny_cnn" }
            .Node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], OnnxAttribute.FromInts("pads", 1, 1, 1, 1))
            .Node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["b"], OnnxAttribute.FromFloat("epsilon", 1e-5f))
            .Node("Relu", ["b"], ["r"])
            .Node("GlobalAveragePool", ["r"], ["p"])
            .Node("Flatten", ["p"], ["f"])
            .Node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], OnnxAttribute.FromInt("transB", 1));
        var ck = ToCheckpoint();
        bool raw = false;
        foreach (var (name, t) in ck.Tensors)
        {
            if (name == externalTensor)
            {
                File.WriteAllBytes(externalFile!, [.. new byte[12], .. t.GetBytes().ToArray()]);
                model.ExternalInitializer(name, OnnxDataType.Float, t.Shape, Path.GetFileName(externalFile!), offset: 12);
            }
            else model.Initializer(name, OnnxDataType.Float, t.Shape, t.GetBytes(), (raw = !raw) ? OnnxTensorEncoding.Raw : OnnxTensorEncoding.FloatData);
        }
        long? n = batch > 0 ? batch : null;
        return model
            .Input("x", OnnxDataType.Float, n, 1, 4, 4)
            .Output("logits", OnnxDataType.Float, n, Classes)
            .ToBytes();
    }
}
