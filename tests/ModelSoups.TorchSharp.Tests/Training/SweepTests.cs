using ModelSoups.TorchSharp.Training;

namespace ModelSoups.TorchSharp.Tests.Training;

public class SweepTests
{
    [Fact]
    public void Grid_is_every_combination_last_key_fastest_with_index_seeds()
    {
        var runs = Sweep.Parse("""
            base: {optimizer: sgd, batch_size: 32}
            grid: {lr: [0.1, 0.01], weight_decay: [0, 0.5, 1]}
            """);
        Assert.Equal(6, runs.Count);
        Assert.Equal("run-000", runs[0].Name);
        Assert.Equal((0.1, 0.0), (runs[0].Hyperparameters.LearningRate, runs[0].Hyperparameters.WeightDecay));
        Assert.Equal((0.1, 0.5), (runs[1].Hyperparameters.LearningRate, runs[1].Hyperparameters.WeightDecay));
        Assert.Equal((0.01, 1.0), (runs[5].Hyperparameters.LearningRate, runs[5].Hyperparameters.WeightDecay));
        Assert.All(runs, r => Assert.Equal(("sgd", 32), (r.Hyperparameters.Optimizer, r.Hyperparameters.BatchSize)));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (ulong)i), runs.Select(r => r.Hyperparameters.DataSeed));
    }

    [Fact]
    public void Random_is_seeded_and_within_bounds()
    {
        const string text = """
            random: {runs: 20, seed: 4, lr: {log_uniform: [1e-5, 1e-3]}, epochs: {choice: [1, 2]}, label_smoothing: {uniform: [0, 0.2]}}
            """;
        var a = Sweep.Parse(text);
        Assert.Equal(a, Sweep.Parse(text));
        Assert.NotEqual(a.Select(r => r.Hyperparameters), Sweep.Parse(text.Replace("seed: 4", "seed: 5")).Select(r => r.Hyperparameters));
        Assert.All(a, r =>
        {
            Assert.InRange(r.Hyperparameters.LearningRate, 1e-5, 1e-3);
            Assert.Contains(r.Hyperparameters.Epochs, new[] { 1, 2 });
            Assert.InRange(r.Hyperparameters.LabelSmoothing, 0, 0.2);
        });
        Assert.True(a.Select(r => r.Hyperparameters.DataSeed).Distinct().Count() > 1);
    }

    [Theory]
    [InlineData("grid: {lr: [0.1]}\nrandom: {runs: 1}", "exactly one")]
    [InlineData("grid: {learning_rate: [0.1]}", "unknown hyperparameter")]
    [InlineData("grid: {lr: [-1]}", "lr must be in")]
    [InlineData("grid: {epochs: [1.5]}", "whole number")]
    [InlineData("random: {runs: 2, lr: {gauss: [1, 2]}}", "unknown distribution")]
    [InlineData("random: {lr: {uniform: [1, 2]}}", "runs")]
    [InlineData("grid: {optimizer: [adam]}", "adamw, sgd")]
    [InlineData("bogus: 1", "unknown top-level key")]
    [InlineData("grid: [1, 2", "not valid YAML")]
    public void Malformed_sweeps_are_user_errors(string yaml, string fragment)
    {
        var e = Assert.Throws<ModelSoupsException>(() => Sweep.Parse(yaml, "s.yaml"));
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Default_sweep_has_the_requested_runs()
    {
        var runs = Sweep.Default(5, seed: 2);
        Assert.Equal(5, runs.Count);
        Assert.Equal(runs, Sweep.Default(5, seed: 2));
    }

    [Fact]
    public void Schedule_warms_up_then_decays_to_zero()
    {
        // 10 steps, 20 % warm-up: 2 warm-up steps, then cosine over the remaining 8.
        Assert.Equal(0.5, LearningRateSchedule.At(0, 10, 1.0, 0.2, "cosine"), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(1, 10, 1.0, 0.2, "cosine"), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(2, 10, 1.0, 0.2, "cosine"), 12);
        Assert.Equal(0.5, LearningRateSchedule.At(6, 10, 1.0, 0.2, "cosine"), 12);   // halfway: cos(π/2)
        Assert.Equal(0.5, LearningRateSchedule.At(6, 10, 1.0, 0.2, "linear"), 12);
        Assert.Equal(0.125, LearningRateSchedule.At(9, 10, 1.0, 0.2, "linear"), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(9, 10, 1.0, 0.2, "constant"), 12);
    }
}

public class TypedSweepTests
{
    [Fact]
    public void A_typed_random_sweep_draws_exactly_what_its_yaml_draws()
    {
        // The demo builds its sweep typed; the YAML it used to write must give the same runs, bit for bit.
        var yaml = Sweep.Parse("""
            base: {batch_size: 32}
            random:
              runs: 6
              seed: 3
              lr: {log_uniform: [0.0001, 0.0004]}
              weight_decay: {choice: [0, 0.0001, 0.01, 0.1]}
              label_smoothing: {uniform: [0, 0.2]}
              epochs: 2
              augmentation: {choice: [0, 0.5, 1]}
            """);
        var typed = Sweep.Random(new TrainingHyperparameters { BatchSize = 32 }, 6, 3,
        [
            new("lr", new SweepDistribution.LogUniform(1e-4, 4e-4)),
            new("weight_decay", new SweepDistribution.Choice([0.0, 0.0001, 0.01, 0.1])),
            new("label_smoothing", new SweepDistribution.Uniform(0, 0.2)),
            new("epochs", new SweepDistribution.Fixed(2.0)),
            new("augmentation", new SweepDistribution.Choice([0.0, 0.5, 1.0])),
        ]);
        Assert.Equal(yaml, typed);
        Assert.Equal(6, typed.Select(r => r.Hyperparameters.DataSeed).Distinct().Count());
    }

    [Fact]
    public void A_typed_sweep_refuses_a_run_count_out_of_range() =>
        Assert.Throws<ModelSoupsException>(() => Sweep.Random(new TrainingHyperparameters(), 0, 1, []));
}
