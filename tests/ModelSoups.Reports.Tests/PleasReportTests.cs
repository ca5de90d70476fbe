using ModelSoups.Pleas;
using ModelSoups.Reports;

namespace ModelSoups.Reports.Tests;

public sealed class PleasReportTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static PleasResults Sample(string labelSpace) => new()
    {
        Title = "pair", Architecture = "mlp", LabelSpace = labelSpace, Matching = "activation", Samples = 100, Ridge = 1e-4,
        Evaluation = "test (10 images)", OneModelParameters = 1000,
        Rows =
        [
            new PleasRow("model A", null, 1000, 0.9, 0.9),
            new PleasRow("naive average", null, 1000, 0.4, 0.3, 0.5),
            new PleasRow("PLeaS", 1.0, 1000, 0.85, 0.8, 0.9),
            new PleasRow("PLeaS", 1.5, 1490, 0.875, 0.85, 0.9),
        ],
    };

    [Fact]
    public void Table_has_one_row_per_model_with_size_relative_to_one_model()
    {
        var md = PleasReport.Markdown(Sample("shared"));
        Assert.Contains("| PLeaS | 1.50 | 1490 | 1.49× | 87.50 % |", md);
        Assert.Contains("| model A | – | 1000 | 1.00× | 90.00 % |", md);
        Assert.DoesNotContain("Task A", md);
        var separate = PleasReport.Markdown(Sample("separate"));
        Assert.Contains("| naive average | – | 1000 | 1.00× | 40.00 % | 30.00 % | 50.00 % |", separate);
        Assert.Contains("| model A | – | 1000 | 1.00× | 90.00 % | 90.00 % | – |", separate);
    }

    [Fact]
    public void Write_makes_markdown_and_html_with_the_figure_and_round_trips_the_json()
    {
        var (md, html) = PleasReport.Write(_dir.Path, [Sample("shared"), Sample("separate")]);
        Assert.Equal(2, File.ReadAllText(md).Split("## pair").Length - 1);
        var page = File.ReadAllText(html);
        Assert.Contains("<svg", page);
        Assert.Contains("<section class=\"pleas\">", page);
        var json = Path.Combine(_dir.Path, PleasResults.FileName);
        File.WriteAllText(json, Sample("separate").ToJson());
        var back = PleasResults.Read(json);
        Assert.Equal(Sample("separate").Rows, back.Rows);
        File.WriteAllText(json, "{");
        Assert.Throws<ModelSoupsException>(() => PleasResults.Read(json));
    }
}
