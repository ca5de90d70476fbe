namespace ModelSoups.Assignment;

/// <summary>
/// The linear assignment problem on a square n × n matrix: the permutation p minimising (or maximising)
/// Σᵢ C[i, p(i)]. Solved exactly in O(n³) by the Hungarian method in its shortest-augmenting-path form
/// (Kuhn–Munkres with row/column potentials, as in Jonker &amp; Volgenant 1987): rows are added one at a time
/// and each is joined by a Dijkstra-like search over reduced costs C[i,j] − u[i] − v[j] ≥ 0.
/// Pure managed code: the core has no native dependencies (Google.OrTools' solver is native).
/// Ties are broken towards the lowest column index, so the result is deterministic.
/// </summary>
public static class LinearAssignment
{
    /// <summary>The permutation (row i → column result[i]) of least total cost.</summary>
    /// <exception cref="ArgumentException">The matrix is not square or holds a NaN or infinity.</exception>
    public static int[] Minimize(double[,] cost)
    {
        int n = cost.GetLength(0);
        if (cost.GetLength(1) != n)
            throw new ArgumentException($"the cost matrix must be square, not {n} × {cost.GetLength(1)}", nameof(cost));
        foreach (double c in cost)
            if (!double.IsFinite(c)) throw new ArgumentException("the cost matrix holds a NaN or infinity", nameof(cost));
        if (n == 0) return [];

        // 1-based arrays with a virtual column 0 that holds the row being inserted (the e-maxx formulation).
        var u = new double[n + 1];
        var v = new double[n + 1];
        var rowOfColumn = new int[n + 1];   // rowOfColumn[j]: the row matched to column j (0: none)
        var previous = new int[n + 1];      // previous column on the alternating path
        var minReduced = new double[n + 1];
        var used = new bool[n + 1];
        for (int i = 1; i <= n; i++)
        {
            rowOfColumn[0] = i;
            int column = 0;
            Array.Fill(minReduced, double.PositiveInfinity);
            Array.Clear(used);
            do
            {
                used[column] = true;
                int row = rowOfColumn[column], next = 0;
                double delta = double.PositiveInfinity;
                for (int j = 1; j <= n; j++)
                {
                    if (used[j]) continue;
                    double reduced = cost[row - 1, j - 1] - u[row] - v[j];
                    if (reduced < minReduced[j]) { minReduced[j] = reduced; previous[j] = column; }
                    if (minReduced[j] < delta) { delta = minReduced[j]; next = j; }
                }
                for (int j = 0; j <= n; j++)
                {
                    if (used[j]) { u[rowOfColumn[j]] += delta; v[j] -= delta; }
                    else minReduced[j] -= delta;
                }
                column = next;
            } while (rowOfColumn[column] != 0);
            // Flip the alternating path back to the virtual column.
            do
            {
                int before = previous[column];
                rowOfColumn[column] = rowOfColumn[before];
                column = before;
            } while (column != 0);
        }
        var assignment = new int[n];
        for (int j = 1; j <= n; j++) assignment[rowOfColumn[j] - 1] = j - 1;
        return assignment;
    }

    /// <summary>The permutation (row i → column result[i]) of greatest total score, e.g. a similarity matrix.</summary>
    public static int[] Maximize(double[,] score)
    {
        int n = score.GetLength(0), m = score.GetLength(1);
        var negated = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) negated[i, j] = -score[i, j];
        return Minimize(negated);
    }

    /// <summary>Σᵢ matrix[i, assignment[i]].</summary>
    public static double Total(double[,] matrix, IReadOnlyList<int> assignment)
    {
        double sum = 0;
        for (int i = 0; i < assignment.Count; i++) sum += matrix[i, assignment[i]];
        return sum;
    }
}
