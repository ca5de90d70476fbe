using ModelSoups.Reports;

namespace ModelSoups.Reports.Tests;

public sealed class TextDemoSummaryTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static DemoResults Seed(double bestTest, double greedyTest, double bestShift, double greedyShift, double[] ingredientTests)
    {
        var none = new Dictionary<string, double>();
        DemoRow R(string m, double h, double t, double s, int members) =>
            new(m, h, t, s, Enumerable.Range(0, members).Select(i => $"run-{i:D3}").ToArray(), 1, new Dictionary<string, double> { ["time shift"] = s });
        var rows = new List<DemoRow>
        {
            R(DemoResults.BestIndividual, 0.95, bestTest, bestShift, 1),
            R(DemoResults.UniformSoup, 0.94, 0.93, 0.80, 3),
            R(DemoResults.GreedySoup, 0.96, greedyTest, greedyShift, 2),
            R(DemoResults.Ensemble, 0.95, 0.95, 0.82, 3) with { Cost = 3 },
            R(DemoResults.LinearProbe, 0.90, 0.89, 0.70, 0),
        };
        rows.AddRange(ingredientTests.Select((t, i) => R(DemoRow.IngredientPrefix + $"run-{i:D3}", 0.9, t, 0.75, 1)));
        return new DemoResults { Rows = rows, Seconds = [] };
    }

    static TextDemoSummary Sample() => new()
    {
        Seeds =
        [
            new TextSeedResult(0, Seed(0.950, 0.960, 0.800, 0.830, [0.90, 0.92, 0.94]),
                [new PairedComparison("test", DemoResults.GreedySoup, DemoResults.BestIndividual, 0.960, 0.950, 14, 4, 0.0309), new PairedComparison("shift", DemoResults.GreedySoup, DemoResults.BestIndividual, 0.83, 0.80, 40, 10, 0.00001)]),
            new TextSeedResult(1, Seed(0.940, 0.940, 0.810, 0.820, [0.91, 0.93, 0.95]),
                [new PairedComparison("test", DemoResults.GreedySoup, DemoResults.BestIndividual, 0.940, 0.940, 5, 5, 1.0), new PairedComparison("shift", DemoResults.GreedySoup, DemoResults.BestIndividual, 0.82, 0.81, 30, 20, 0.2)]),
        ],
        SetSizes = new Dictionary<string, int> { ["heldout"] = 1000, ["test"] = 1000, ["shift"] = 1000 },
        Seconds = [KeyValuePair.Create("total", 12.0)],
        Settings = new Dictionary<string, string> { ["preset"] = "test" },
    };

    [Fact]
    public void Aggregates_are_mean_and_sample_standard_deviation_over_seeds()
    {
        var s = Sample();
        // Greedy test: 0.96 and 0.94 → mean 0.95, sd = sqrt(((0.01)² + (0.01)²)/1) = 0.0141421356.
        var greedy = s.Over(DemoResults.GreedySoup, "test");
        Assert.Equal(0.95, greedy.Mean, 12);
        Assert.Equal(0.01414213562373, greedy.StdDev, 12);
        // Ingredient mean: seed 0 (0.90+0.92+0.94)/3 = 0.92, seed 1 0.93 → 0.925.
        Assert.Equal(0.925, s.Over(TextDemoSummary.IngredientMean, "test").Mean, 12);
        Assert.Equal([DemoResults.BestIndividual, DemoResults.UniformSoup, DemoResults.GreedySoup, DemoResults.Ensemble, DemoResults.LinearProbe, TextDemoSummary.IngredientMean], s.Methods);
        Assert.True(double.IsNaN((s with { Seeds = [s.Seeds[0]] }).Over(DemoResults.GreedySoup, "test").StdDev));
    }

    [Fact]
    public void Headline_states_the_result_and_whether_it_is_within_noise()
    {
        var h = Sample().Headline();
        // Test: greedy 95.00 vs best 94.50 (+0.50), ahead in 1, tied in 1; p < 0.05 in one sweep only → within noise.
        Assert.Contains("on in-distribution test the greedy soup scores 95.00 % vs the best individual model's 94.50 % (+0.50 points; ahead in 1, behind in 0, tied in 1 of 2 sweep(s)): within noise (McNemar p < 0.05 in 1 of 2 sweep(s); p = 0.031, 1.000)", h);
        Assert.Contains("on the time shift the greedy soup scores 82.50 % vs the best individual model's 80.50 % (+2.00 points", h);
        Assert.StartsWith("Over 2 sweep(s), ", h);
        var allSignificant = Sample() with
        {
            Seeds = [.. Sample().Seeds.Select(x => x with { Paired = [.. x.Paired.Select(p => p with { PValue = 0.001, AAccuracy = p.BAccuracy + 0.01 })] })],
        };
        Assert.Contains("beyond noise (McNemar p < 0.05 in every sweep)", allSignificant.Headline());
    }

    [Fact]
    public void Table_cells_show_mean_sd_and_wilson_interval_and_json_round_trips()
    {
        var s = Sample();
        var greedyRow = TextDemoTable.Cells(s).Single(r => r[0] == "Greedy soup");
        // Wilson 95 % at 950/1000: [93.47, 96.19] (see StatisticsTests) → "[93.5–96.2]".
        Assert.Equal("95.00 ± 1.41 [93.5–96.2]", greedyRow[2]);
        Assert.Equal("3×", TextDemoTable.Cells(s).Single(r => r[0] == "Ensemble (logits)")[4]);
        var back = TextDemoSummary.FromJson(s.ToJson());
        Assert.Equal(s.Headline(), back.Headline());
        Assert.Equal(TextDemoTable.Text(s), TextDemoTable.Text(back));
        Assert.Equal(s.Seeds[1].Paired[1], back.Seeds[1].Paired[1]);
        var e = Assert.Throws<ModelSoupsException>(() => TextDemoSummary.FromJson("{\"seeds\": []}", "x.json"));
        Assert.Contains("malformed", e.Message);
    }

    [Fact]
    public void Writes_a_report_per_seed_and_a_summary_page()
    {
        var (html, md) = ReportWriter.WriteTextDemo(_dir.Path, Sample(), ["<h2>Extra section</h2>"]);
        var page = File.ReadAllText(html);
        Assert.Contains("MiniLM on SpamAssassin", page);
        Assert.Contains("<svg", page);
        Assert.Contains("Extra section", page);
        Assert.Contains("McNemar exact p = 0.031", page);
        Assert.Contains("| Greedy soup | ", File.ReadAllText(md));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "seed-0", "report.html")));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "seed-1", "report.md")));
    }
}
