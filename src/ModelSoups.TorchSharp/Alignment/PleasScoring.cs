namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// Accuracy of a classifier's logits in the two label-space settings. Separate label spaces: A's classes are labels
/// 0 … C_A − 1 and B's are C_A … C_A + C_B − 1 (B's own class j is label C_A + j), the merged head stacks A's outputs
/// then B's, and each task is scored on its own examples with its own head's outputs (PLeaS §4.2: the task is known
/// at test time).
/// </summary>
public static class PleasScoring
{
    /// <summary>
    /// Top-1 accuracy over the examples whose label lies in [<paramref name="firstLabel"/>, firstLabel + count), predicting
    /// the argmax of logit columns [<paramref name="column"/>, column + count) of row-major logits [N × <paramref name="width"/>].
    /// </summary>
    public static double TaskAccuracy(float[] logits, int[] labels, int width, int firstLabel, int count, int column)
    {
        int correct = 0, n = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int target = labels[i] - firstLabel;
            if (target < 0 || target >= count) continue;
            n++;
            long row = (long)i * width + column;
            int best = 0;
            for (int c = 1; c < count; c++)
                if (logits[row + c] > logits[row + best]) best = c;
            if (best == target) correct++;
        }
        return n == 0 ? double.NaN : (double)correct / n;
    }

    /// <summary>Plain top-1 accuracy over all classes.</summary>
    public static double Accuracy(float[] logits, int[] labels, int classes) => TaskAccuracy(logits, labels, classes, 0, classes, 0);

    /// <summary>Mean over models of softmax probabilities, for the ensemble (row-major, same width).</summary>
    public static float[] AverageProbabilities(float[] a, float[] b, int classes)
    {
        var result = new float[a.Length];
        foreach (var (source, weight) in new[] { (a, 0.5), (b, 0.5) })
            for (long row = 0; row < a.Length / classes; row++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int c = 0; c < classes; c++) max = Math.Max(max, source[row * classes + c]);
                for (int c = 0; c < classes; c++) sum += Math.Exp(source[row * classes + c] - max);
                for (int c = 0; c < classes; c++) result[row * classes + c] += (float)(weight * Math.Exp(source[row * classes + c] - max) / sum);
            }
        return result;
    }
}
