using ModelSoups.Evaluation;
using ModelSoups.Soups;

namespace ModelSoups.Onnx.Tests;

public sealed class GreedyWithOnnxTests
{
    [Fact]
    public void Greedy_soup_over_onnx_evaluations_matches_scores_of_the_averaged_weights()
    {
        var dir = Directory.CreateTempSubdirectory("ms-greedy-onnx-").FullName;
        try
        {
            var model = Path.Combine(dir, "m.onnx");
            File.WriteAllBytes(model, TinyCnn.Random(1).ToOnnx());
            var rng = new Random(5);
            int n = 40;
            var x = Enumerable.Range(0, n * 16).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            // Labels: what a "true" model (seed 1) predicts; ingredients are noisy copies of it.
            var truth = TinyCnn.Random(1).Forward(x, n);
            var labels = Enumerable.Range(0, n).Select(e => (long)Enumerable.Range(0, TinyCnn.Classes).MaxBy(c => truth[e * TinyCnn.Classes + c])).ToArray();
            var data = new TestCheckpoint("heldout").F32("inputs", [n, 1, 4, 4], x).I64("labels", [n], labels);

            var ingredients = Enumerable.Range(0, 4).Select(i =>
            {
                var m = TinyCnn.Random(1);
                var noise = new Random(100 + i);
                for (int j = 0; j < m.FcW.Length; j++) m.FcW[j] += (float)(noise.NextDouble() * 2 - 1) * (0.5f + i);
                return Candidate.FromCheckpoint($"ft{i}", m.ToCheckpoint($"ft{i}"));
            }).ToArray();

            var evaluator = new OnnxEvaluator(model, data);
            using var builder = new InMemorySoupBuilder(ingredients);
            var result = GreedySoup.Run(builder, evaluator);

            Assert.Equal(4, result.Trajectory.Count);
            Assert.Equal(result.Members[0], result.Ranking[0]);
            // Re-evaluating the final soup gives the recorded soup score.
            using var soup = builder.CurrentSoup();
            Assert.Equal(result.SoupScore, evaluator.Evaluate(Candidate.FromCheckpoint("final", soup)).Score);
            Assert.True(result.SoupScore >= result.Ingredients.Max(i => i.Score));
        }
        finally { Directory.Delete(dir, true); }
    }
}
