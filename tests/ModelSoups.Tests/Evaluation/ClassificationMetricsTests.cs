using ModelSoups.Evaluation;

namespace ModelSoups.Tests.Evaluation;

public sealed class ClassificationMetricsTests
{
    [Fact]
    public void Golden_top1_top5_and_loss()
    {
        // 2 examples × 6 classes. Example 0: label 2 is the max → top-1 right.
        // Example 1: label 0 ranks 6th (all others greater) → wrong in top-1 and top-5.
        float[] logits =
        [
            0, 1, 3, 0, 0, 0,
            0, 1, 1, 1, 1, 1,
        ];
        var r = ClassificationMetrics.Compute(logits, [2, 0], 6);
        Assert.Equal(0.5, r.Score);
        Assert.Equal(0.5, r.Metrics["top5"]);
        // loss0 = log(4 + e + e^3) − 3; loss1 = log(1 + 5e) − 0.
        double expected = (Math.Log(4 + Math.E + Math.Exp(3)) - 3 + Math.Log(1 + 5 * Math.E)) / 2;
        Assert.Equal(expected, r.Metrics["loss"], 12);
        Assert.Same(logits, r.Logits);
    }

    [Fact]
    public void Ties_rank_the_lower_class_first_and_top5_needs_five_classes()
    {
        var r = ClassificationMetrics.Compute([1, 1, 1, 1], [0, 1], 2);
        Assert.Equal(0.5, r.Score);                // argmax of a tie is class 0
        Assert.False(r.Metrics.ContainsKey("top5"));
        Assert.Equal(Math.Log(2), r.Metrics["loss"], 12);
    }
}
