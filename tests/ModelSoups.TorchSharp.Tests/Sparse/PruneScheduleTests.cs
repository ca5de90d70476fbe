using ModelSoups.TorchSharp.Sparse;

namespace ModelSoups.TorchSharp.Tests.Sparse;

public class PruneScheduleTests
{
    [Fact]
    public void Golden_phase_fraction_and_sparsity_per_phase()
    {
        // S = 0.9, T = 3: q = 1 − 0.1^(1/3) = 1 − 0.46415888336127786.
        Assert.Equal(0.5358411166387221, PruneSchedule.PhaseFraction(0.9, 3), 15);
        Assert.Equal(0.5358411166387221, PruneSchedule.SparsityAfter(0.9, 3, 1), 15);
        Assert.Equal(0.7845565309968117, PruneSchedule.SparsityAfter(0.9, 3, 2), 15);   // 1 − 0.46416²
        Assert.Equal(0.9, PruneSchedule.SparsityAfter(0.9, 3, 3));                     // exactly the goal
        Assert.Equal(0.0, PruneSchedule.SparsityAfter(0.9, 3, 0));
        Assert.Equal(0.5, PruneSchedule.PhaseFraction(0.75, 2), 15);
        Assert.Equal(0.9, PruneSchedule.PhaseFraction(0.9, 1), 15);
    }

    [Fact]
    public void Zero_count_rounds_half_away_from_zero()
    {
        Assert.Equal(3, PruneSchedule.ZeroCount(10, 0.25));   // 2.5
        Assert.Equal(2, PruneSchedule.ZeroCount(10, 0.24));
        Assert.Equal(9000, PruneSchedule.ZeroCount(10_000, 0.9));
    }

    [Fact]
    public void Bad_goals_are_user_errors()
    {
        Assert.Throws<ModelSoupsException>(() => PruneSchedule.PhaseFraction(1, 3));
        Assert.Throws<ModelSoupsException>(() => PruneSchedule.PhaseFraction(-0.1, 3));
        Assert.Throws<ModelSoupsException>(() => PruneSchedule.PhaseFraction(0.5, 0));
    }
}
