using ModelSoups.Assignment;

namespace ModelSoups.Tests.Assignment;

public class LinearAssignmentTests
{
    [Fact]
    public void Golden3x3()
    {
        // Rows pick columns: 0→1 (1), 1→0 (2), 2→2 (2) = 5; every other permutation costs more
        // (identity 4+5+2 = 11, 0→1,1→2,2→0 = 1+7+3 = 11, 0→2,1→0,2→1 = 8+2+8 = 18, ...).
        var cost = new double[,] { { 4, 1, 8 }, { 2, 5, 7 }, { 3, 8, 2 } };
        var p = LinearAssignment.Minimize(cost);
        Assert.Equal([1, 0, 2], p);
        Assert.Equal(5, LinearAssignment.Total(cost, p));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    public void MatchesBruteForceOnRandomMatrices(int n)
    {
        var random = new Random(1234 + n);
        for (int trial = 0; trial < 40; trial++)
        {
            var cost = new double[n, n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    // Integers in a small range make ties common, which the solver must still handle exactly.
                    cost[i, j] = trial % 2 == 0 ? random.Next(-5, 6) : random.NextDouble() * 100 - 50;
            var p = LinearAssignment.Minimize(cost);
            Assert.Equal(Enumerable.Range(0, n), p.Order());
            Assert.Equal(BruteForceMinimum(cost), LinearAssignment.Total(cost, p), 9);

            var q = LinearAssignment.Maximize(cost);
            Assert.Equal(-BruteForceMinimum(Negate(cost)), LinearAssignment.Total(cost, q), 9);
        }
    }

    [Fact]
    public void RecoversAHiddenPermutationOfASimilarityMatrix()
    {
        // score[i, j] = 1 when j = π(i), small noise elsewhere: the maximum is π itself.
        var random = new Random(7);
        int n = 60;
        var pi = Enumerable.Range(0, n).OrderBy(_ => random.Next()).ToArray();
        var score = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) score[i, j] = j == pi[i] ? 1 : random.NextDouble() * 0.5;
        Assert.Equal(pi, LinearAssignment.Maximize(score));
    }

    [Fact]
    public void RejectsNonSquareAndNonFinite()
    {
        Assert.Throws<ArgumentException>(() => LinearAssignment.Minimize(new double[2, 3]));
        Assert.Throws<ArgumentException>(() => LinearAssignment.Minimize(new double[,] { { 0, double.NaN }, { 1, 2 } }));
        Assert.Empty(LinearAssignment.Minimize(new double[0, 0]));
    }

    static double[,] Negate(double[,] m)
    {
        var r = (double[,])m.Clone();
        for (int i = 0; i < r.GetLength(0); i++)
            for (int j = 0; j < r.GetLength(1); j++) r[i, j] = -r[i, j];
        return r;
    }

    static double BruteForceMinimum(double[,] cost)
    {
        int n = cost.GetLength(0);
        double best = double.PositiveInfinity;
        var perm = Enumerable.Range(0, n).ToArray();
        void Recurse(int k, double sum)
        {
            if (k == n) { best = Math.Min(best, sum); return; }
            for (int i = k; i < n; i++)
            {
                (perm[k], perm[i]) = (perm[i], perm[k]);
                Recurse(k + 1, sum + cost[k, perm[k]]);
                (perm[k], perm[i]) = (perm[i], perm[k]);
            }
        }
        Recurse(0, 0);
        return best;
    }
}
