using ScottPlot;

namespace ModelSoups.Reports;

/// <summary>
/// The demo's figure, as in the model-soups paper's Figure 1/4: test accuracy (x) against mean accuracy under
/// distribution shift (y), one grey point per fine-tuned ingredient, and the soups, the best individual model
/// and the ensemble marked. Accuracies in percent.
/// </summary>
public static class DemoPlot
{
    /// <summary>Width and height of the figure, pixels.</summary>
    public const int Width = 900, Height = 560;

    /// <summary>The figure as an SVG document.</summary>
    public static string Svg(DemoResults r) => Build(r).GetSvgXml(Width, Height);

    /// <summary>The figure as a PNG image.</summary>
    public static byte[] Png(DemoResults r) => Build(r).GetImageBytes(Width, Height, ImageFormat.Png);

    static Plot Build(DemoResults r)
    {
        var plot = new Plot();
        var ingredients = r.Rows.Where(x => x.IsIngredient && double.IsFinite(x.Test) && double.IsFinite(x.Ood)).ToArray();
        if (ingredients.Length > 0)
        {
            var points = plot.Add.ScatterPoints(ingredients.Select(x => 100 * x.Test).ToArray(), ingredients.Select(x => 100 * x.Ood).ToArray());
            points.Color = Colors.Gray;
            points.MarkerSize = 9;
            points.LegendText = "fine-tuned ingredient";
        }
        (string Method, Color Color, MarkerShape Shape)[] marks =
        [
            (DemoResults.BestIndividual, Colors.Black, MarkerShape.OpenCircle),
            (DemoResults.UniformSoup, Colors.Orange, MarkerShape.FilledSquare),
            (DemoResults.GreedySoup, Colors.Green, MarkerShape.FilledDiamond),
            (DemoResults.LearnedSoup, Colors.Blue, MarkerShape.FilledTriangleUp),
            (DemoResults.Ensemble, Colors.Purple, MarkerShape.Eks),
            (DemoResults.LinearProbe, Colors.Brown, MarkerShape.OpenSquare),
        ];
        foreach (var (method, color, shape) in marks)
        {
            if (r.Row(method) is not { } row || !double.IsFinite(row.Test) || !double.IsFinite(row.Ood)) continue;
            var p = plot.Add.ScatterPoints(new[] { 100 * row.Test }, new[] { 100 * row.Ood });
            p.Color = color;
            p.MarkerShape = shape;
            p.MarkerSize = method == DemoResults.BestIndividual ? 18 : 14;
            p.LegendText = DemoTable.Label(method);
        }
        plot.Title("Test accuracy vs. accuracy under distribution shift");
        plot.XLabel("test accuracy (%)");
        plot.YLabel("OOD accuracy, mean over shifts (%)");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }
}
