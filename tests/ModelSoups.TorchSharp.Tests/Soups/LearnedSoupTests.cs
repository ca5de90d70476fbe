using ModelSoups.Checkpoints;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Soups;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Soups;

public class LearnedSoupTests
{
    static readonly ModelSpec MlpSpec = ModelSpec.ForArchitecture(ModelSpec.MlpName, SyntheticImages.Classes, 1, SyntheticImages.Side);

    static StateDictCheckpoint Trained(int steps, ulong seed)
    {
        manual_seed(10);
        using var m = MlpSpec.Create();
        if (steps > 0)
        {
            var data = SyntheticImages.Create(200, 5);
            FineTune.Run(m, MlpSpec, data, data, new TrainingHyperparameters { LearningRate = 0.01, WeightDecay = 0, Steps = steps, BatchSize = 32, DataSeed = seed });
        }
        return ModuleState.ToCheckpoint(m);
    }

    [Fact]
    public void One_ingredient_returns_that_ingredient_exactly()
    {
        var only = Trained(5, 1);
        var data = SyntheticImages.Create(64, 9);
        var r = LearnedSoup.Run(MlpSpec, [("a", only)], data, new LearnedSoupOptions { Epochs = 2, BatchSize = 16 });
        Assert.Equal(only.Tensors.Keys, r.Soup.Tensors.Keys);
        foreach (var (name, t) in only.Tensors)
            Assert.True(t.GetBytes().SequenceEqual(r.Soup.Tensors[name].GetBytes()), name);
        Assert.Equal(1.0, r.Alpha[0][0]);
        Assert.Equal(2, r.Curve.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Alpha_moves_toward_the_better_ingredient(bool byLayer)
    {
        var good = Trained(60, 2);
        var bad = Trained(0, 0); // the untrained start
        var data = SyntheticImages.Create(128, 11);
        var r = LearnedSoup.Run(MlpSpec, [("bad", bad), ("good", good)], data,
            new LearnedSoupOptions { ByLayer = byLayer, Epochs = 5, BatchSize = 32 });
        Assert.Equal(["bad", "good"], r.Ingredients);
        Assert.Equal(byLayer ? 4 : 1, r.Alpha.Count); // by layer: 2 weights + 2 biases
        Assert.All(r.Alpha, row => Assert.Equal(1.0, row.Sum(), 6));
        Assert.True(r.Alpha.Average(row => row[1]) > 0.55, $"α(good) = {r.Alpha.Average(row => row[1])}");
        Assert.True(r.Curve[^1].Loss < r.Curve[0].Loss);
    }

    [Fact]
    public void Memory_check_refuses_clearly()
    {
        Assert.Equal(4000, LearnedSoup.EstimateBytes(2, 1000));
        var e = Assert.Throws<ModelSoupsException>(() => LearnedSoup.CheckMemory(3L << 30, 1L << 30));
        Assert.Contains("MiB available", e.Message);
        LearnedSoup.CheckMemory(3L << 30, null);
    }

    [Fact]
    public void Functional_forward_equals_the_module_forward()
    {
        // The learned soup relies on it: same tensors in, same logits out (eval mode).
        manual_seed(4);
        var spec = ModelSpec.ForArchitecture(ModelSpec.Cnn, 4, 1, 8);
        using var m = (SmallCnn)spec.Create();
        var data = SyntheticImages.Create(16, 3);
        BatchNormRecalibration.Run(m, data, 2, 8, 0);
        var (x, _) = data.Batch(Enumerable.Range(0, 16).ToArray());
        using var _g = no_grad();
        var state = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.True(m.call(x).allclose(m.Forward(x, state), rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Mlp_state_names_are_the_sequential_names_only()
    {
        using var m = new Mlp(4, [3], 2);
        Assert.Equal(["layers.1.bias", "layers.1.weight", "layers.3.bias", "layers.3.weight"], m.state_dict().Keys.Order());
    }
}
