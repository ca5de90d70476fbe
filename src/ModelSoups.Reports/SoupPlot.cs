using ScottPlot;

using ModelSoups.Soups;

namespace ModelSoups.Reports;

/// <summary>
/// The report's figure, in the spirit of the model-soups paper's plots: each ingredient's held-out score
/// (grey, by rank), the greedy soup's score after each step (a line; accepted steps green, rejected
/// candidates red), and the best individual model, uniform soup and ensemble as horizontal references.
/// </summary>
public static class SoupPlot
{
    /// <summary>Width and height of the figure, pixels.</summary>
    public const int Width = 900, Height = 520;

    /// <summary>The figure as an SVG document.</summary>
    public static string Svg(SoupResults r)
    {
        var plot = Build(r);
        return plot.GetSvgXml(Width, Height);
    }

    /// <summary>The figure as a PNG image.</summary>
    public static byte[] Png(SoupResults r) => Build(r).GetImageBytes(Width, Height, ImageFormat.Png);

    private static Plot Build(SoupResults r)
    {
        var plot = new Plot();
        int n = r.Ranking.Count;
        double[] ranks = [.. Enumerable.Range(1, n).Select(i => (double)i)];
        var ingredientScores = r.Ranking.Select(i => r.Ingredients[i].Score).ToArray();
        var ing = plot.Add.ScatterPoints(ranks, ingredientScores);
        ing.Color = Colors.Gray;
        ing.MarkerSize = 9;
        ing.LegendText = "ingredient";

        // Trajectory step s tried the ingredient of rank s + 1.
        var steps = r.Trajectory.Where(s => s.Step < n).ToArray();
        var soup = plot.Add.Scatter(steps.Select(s => (double)(s.Step + 1)).ToArray(), steps.Select(s => s.SoupScore).ToArray());
        soup.Color = Colors.Blue;
        soup.LineWidth = 2;
        soup.MarkerSize = 0;
        soup.LegendText = "greedy soup";
        Candidates(steps.Where(s => s.Accepted).ToArray(), Colors.Green, MarkerShape.FilledDiamond, "accepted");
        Candidates(steps.Where(s => !s.Accepted && double.IsFinite(s.CandidateScore)).ToArray(), Colors.Red, MarkerShape.Eks, "rejected candidate");
        foreach (var b in r.Baselines)
        {
            if (b.Score is not { } v) continue;
            var line = plot.Add.HorizontalLine(v);
            line.LinePattern = LinePattern.Dashed;
            line.Color = b.Name.StartsWith("Uniform", StringComparison.Ordinal) ? Colors.Orange : Colors.Purple;
            line.LegendText = b.Name;
        }
        plot.Title("Held-out score: ingredients and greedy soup");
        plot.XLabel("ingredient rank (greedy order)");
        plot.YLabel("held-out score");
        plot.ShowLegend(Alignment.LowerLeft);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        if (n == 1) plot.Axes.SetLimitsX(0, 2);
        return plot;

        // The candidates' scores at their steps, one marker each (nothing when there are none).
        void Candidates(GreedyStep[] chosen, Color color, MarkerShape shape, string legend)
        {
            if (chosen.Length == 0) return;
            var markers = plot.Add.ScatterPoints(chosen.Select(s => (double)(s.Step + 1)).ToArray(), chosen.Select(s => s.CandidateScore).ToArray());
            markers.Color = color;
            markers.MarkerShape = shape;
            markers.MarkerSize = 11;
            markers.LegendText = legend;
        }
    }
}
