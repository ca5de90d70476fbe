using System.Diagnostics;
using ModelSoups.Evaluation;
using ModelSoups.Reports;
using ModelSoups.Soups;
using SkiaSharp;

namespace ModelSoups.Reports.Tests;

public sealed class ReportRenderTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static SoupResults Sample()
    {
        var m = new Dictionary<string, double>();
        var ingredients = new[] { 0.71, 0.80, 0.77, 0.52 }.Select((s, i) => new IngredientScore(i, $"run-{i}", s, m)).ToArray();
        var result = new GreedyResult(AcceptRule.GreaterOrEqual, ingredients, [1, 2, 0, 3],
        [
            new GreedyStep(0, 1, "run-1", 0.80, true, 0.80, m),
            new GreedyStep(1, 2, "run-2", 0.81, true, 0.81, m),
            new GreedyStep(2, 0, "run-0", 0.805, false, 0.81, m),
            new GreedyStep(3, 3, "run-3", 0.70, false, 0.81, m),
        ], [1, 2], 0.81);
        return SoupResults.From(result, "command sh eval.sh {model}", null,
            [new Baseline("Uniform soup", 0.78, m, "all 4 ingredients"), new Baseline("Ensemble (mean logits)", null, m, "not available")],
            new Dictionary<string, string> { ["command"] = "soup greedy <test>" });
    }

    [Fact]
    public void Results_round_trip_through_json()
    {
        var r = Sample();
        var back = SoupResults.FromJson(r.ToJson());
        Assert.Equal(r.ToJson(), back.ToJson());
        Assert.Equal(0.81, back.GreedyScore);
        Assert.Null(back.Baselines[1].Score);
    }

    [Fact]
    public void Malformed_results_are_a_clear_error()
    {
        var e = Assert.Throws<ModelSoupsException>(() => SoupResults.FromJson("{\"format\": \"x\"}", "/x/results.json"));
        Assert.Contains("results", e.UserMessage);
    }

    [Fact]
    public void Markdown_has_the_table_3_rows_and_the_trajectory()
    {
        var md = MarkdownReport.Render(Sample());
        Assert.Contains("| Best individual model | 0.8000 | run-1 |", md);
        Assert.Contains("| Uniform soup | 0.7800 | all 4 ingredients |", md);
        Assert.Contains("| Greedy soup (≥) | 0.8100 | 2 of 4 ingredients |", md);
        Assert.Contains("| 2 | run-0 | 0.8050 | rejected | 0.8100 |", md);
    }

    [Fact]
    public void Html_page_is_self_contained_and_renders_in_headless_chromium()
    {
        var (html, _) = ReportWriter.Write(_dir.Path, Sample());
        var text = File.ReadAllText(html);
        Assert.Contains("<svg", text);
        Assert.DoesNotContain("<script", text);
        Assert.DoesNotContain("http://", text.Replace("http://www.w3.org/", ""));
        Assert.DoesNotContain("https://", text);

        // Chromium is installed by scripts/setup-system-deps --for-tests; its absence is a failure, not a skip.
        var chromium = new[] { "chromium", "chromium-browser" }
            .Select(n => Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, n)).FirstOrDefault(File.Exists))
            .FirstOrDefault(p => p is not null);
        Assert.True(chromium is not null, "chromium is not installed; run scripts/setup-system-deps --for-tests");
        var png = _dir.File("shot.png");
        var profile = Directory.CreateDirectory(_dir.File("profile")).FullName;
        var psi = new ProcessStartInfo(chromium!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}", $"--screenshot={png}", "--window-size=1200,1600", "file://" + html })
            psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            var stdout = new Thread(() => p.StandardOutput.ReadToEnd());
            stdout.Start();
            var err = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(120_000), "chromium did not finish");
            stdout.Join();
            Assert.True(File.Exists(png), "chromium wrote no screenshot: " + err);
        }
        // SkiaSharp (already here through ScottPlot) decodes the screenshot; gray = mean of R, G, B.
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException("the screenshot is not a PNG SkiaSharp can read");
        Assert.Equal((1200, 1600), (bitmap.Width, bitmap.Height));
        var gray = bitmap.Pixels.Select(c => (byte)((c.Red + c.Green + c.Blue) / 3)).ToArray();
        double mean = gray.Average(v => (double)v);
        double variance = gray.Average(v => (v - mean) * (v - mean));
        Assert.True(variance > 100, $"the screenshot looks blank (variance {variance:0.0})");
        // Some pixels are coloured like the plot's series (not only black text on white).
        Assert.True(gray.Count(v => v > 30 && v < 220) > 2000, "too few mid-tone pixels: the plot did not render");
    }
}
