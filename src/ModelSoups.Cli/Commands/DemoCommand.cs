using System.CommandLine;
using System.Globalization;
using ModelSoups.Cli.Progress;
using ModelSoups.Experiments.Pleas;
using ModelSoups.Experiments.Sparse;
using ModelSoups.Reports;
using ModelSoups.Experiments.Text;
using ModelSoups.Experiments.Vision;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Sparse;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup demo [--quick | --full] [--seeds N] [--out DIR]</c>: the model-soups experiment end to end with MiniLM on
/// SpamAssassin (see <see cref="TextSoupsDemo"/>); <c>soup demo --vision [--quick | --full]</c>: the Fashion-MNIST /
/// ImageNet ResNet-18 experiment (<see cref="SoupsDemo"/>, default folder <c>soup-demo-vision</c>);
/// <c>soup demo --sparse [--quick] [--out DIR]</c> (<see cref="SparseDemo"/>); <c>soup demo --pleas</c>. Parses, runs the library, prints progress and the table.
/// </summary>
public static class DemoCommand
{
    /// <summary>Default output folder.</summary>
    public const string DefaultOut = "soup-demo";
    /// <summary>Default output folder of <c>--vision</c> (its files would collide with the text demo's report in one folder).</summary>
    public const string DefaultVisionOut = "soup-demo-vision";

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "One short sweep on small sets (about 3 minutes on 2 cores)." };
        var full = new Option<bool>("--full") { Description = "As large as the corpus allows: more sweeps, ingredients and tokens (hours on a CPU)." };
        var seeds = new Option<int?>("--seeds") { Description = "Sweep seeds (default 3; --quick 1): the table reports mean ± standard deviation over them." };
        var lr = new Option<string?>("--lr") { Description = "Learning-rate range MIN,MAX of the text demo's sweep (log-uniform; default from the preset)." };
        var heldOutOnly = new Option<bool>("--held-out-only") { Description = "A settings probe: evaluate on held-out only (test and shift are never computed)." };
        var vision = new Option<bool>("--vision") { Description = "The Fashion-MNIST / ImageNet ResNet-18 experiment instead (with --quick or --full; default folder soup-demo-vision)." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder: _init/, seed-N/, summary.json, report.html. Rerunning resumes.", DefaultValueFactory = _ => DefaultOut };
        var sparse = new Option<bool>("--sparse") { Description = "Sparse Model Soups instead: prune a small CNN to 90 % in 3 phases and compare IMP with SMS uniform and greedy soups on the same corrupted test sets (DIR/sparse/; with --quick or alone)." };
        var pleas = new Option<bool>("--pleas") { Description = "PLeaS instead: MLP and CNN pairs from different random initialisations on Fashion-MNIST (same classes, and 0–4 vs 5–9) merged by naive averaging, permute+average and PLeaS at budgets 1.0–2.0 (DIR/pleas/; measured 434 s on one core of a heavily loaded machine)." };
        var command = new Command("demo", "Model soups end to end: fine-tune MiniLM ingredients on SpamAssassin spam/ham over several sweep seeds, then compare the best model, uniform, greedy and learned soups and the ensemble on held-out, test and a time shift, with intervals and McNemar's test.")
        {
            quick, full, seeds, lr, heldOutOnly, vision, sparse, pleas, outDir,
        };
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            if (parse.GetValue(quick) && parse.GetValue(full)) throw new ModelSoupsException("give at most one of --quick and --full");
            bool outGiven = parse.GetResult(outDir) is { Implicit: false };
            if (parse.GetValue(vision) && (parse.GetValue(sparse) || parse.GetValue(pleas))) throw new ModelSoupsException("give at most one of --vision, --sparse and --pleas");
            bool textDemo = !parse.GetValue(vision) && !parse.GetValue(sparse) && !parse.GetValue(pleas);
            if (parse.GetValue(seeds) is { } n && (n < 1 || !textDemo))
                throw new ModelSoupsException(n < 1 ? "--seeds must be at least 1" : "--seeds belongs to the text demo (not --vision, --sparse or --pleas)");
            if ((parse.GetValue(lr) is not null || parse.GetValue(heldOutOnly)) && !textDemo)
                throw new ModelSoupsException("--lr and --held-out-only belong to the text demo (not --vision, --sparse or --pleas)");
            var output = Path.GetFullPath(parse.GetValue(vision) && !outGiven ? DefaultVisionOut : parse.GetValue(outDir)!);
            if (parse.GetValue(pleas))
            {
                if (parse.GetValue(sparse) || parse.GetValue(full) || parse.GetValue(quick)) throw new ModelSoupsException("--pleas runs alone: no --sparse, --quick or --full");
                PleasDemoCommand.Run(new PleasDemoOptions { Out = output }, stdout, stderr, cancel);
                return 0;
            }
            if (parse.GetValue(sparse))
            {
                if (parse.GetValue(full)) throw new ModelSoupsException("--sparse has no --full run; give --sparse alone or with --quick");
                var sparseResult = RunSparse(new SparseDemoOptions { Out = output, Quick = parse.GetValue(quick) }, stderr, cancel);
                SparseCommand.Print(stdout, sparseResult.Results);
                stdout.WriteLine($"Results: {Path.Combine(sparseResult.Folder, SparseSoupResult.FileName)}  Report: {Path.Combine(sparseResult.Folder, SparseReport.HtmlFileName)}" +
                    (File.Exists(Path.Combine(output, DemoResults.FileName)) ? $"  Main report (with the sparse section): {Path.Combine(output, DemoHtmlReport.FileName)}" : ""));
                return 0;
            }
            if (parse.GetValue(vision))
            {
                var options = parse.GetValue(quick) ? DemoOptions.Quick(output) : parse.GetValue(full) ? DemoOptions.Full(output) : DemoOptions.Default(output);
                var results = Run(options, stderr, cancel);
                Print(results, output, stdout);
                return 0;
            }
            var text = parse.GetValue(quick) ? TextDemoOptions.Quick(output) : parse.GetValue(full) ? TextDemoOptions.Full(output) : TextDemoOptions.Default(output);
            if (parse.GetValue(seeds) is { } count) text = text with { Seeds = count };
            if (parse.GetValue(lr) is { } range) text = text with { LearningRate = ParseRange(range) };
            if (parse.GetValue(heldOutOnly)) text = text with { HeldOutOnly = true };
            var summary = RunText(text, stderr, cancel);
            PrintText(summary, output, stdout);
            return 0;
        }
    }

    /// <summary>Runs the demo with progress on <paramref name="stderr"/> and writes the reports.</summary>
    public static DemoResults Run(DemoOptions options, TextWriter stderr, CancellationToken cancel = default)
    {
        stderr.WriteLine($"soup demo ({options.Preset}): writing to {options.Out}");
        return ProgressView.Run(stderr, view => SoupsDemo.Run(options, Reporter(view), cancel));
    }

    /// <summary>Parses "MIN,MAX" (0 &lt; MIN ≤ MAX).</summary>
    static (double Min, double Max) ParseRange(string text)
    {
        var parts = text.Split(',');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b) && a > 0 && b >= a)
            return (a, b);
        throw new ModelSoupsException($"--lr needs MIN,MAX with 0 < MIN ≤ MAX, e.g. 2e-5,2e-4; not '{text}'");
    }

    /// <summary>Runs the text demo with progress on <paramref name="stderr"/> and writes the reports.</summary>
    public static TextDemoSummary RunText(TextDemoOptions options, TextWriter stderr, CancellationToken cancel = default)
    {
        stderr.WriteLine($"soup demo ({options.Preset}): MiniLM on SpamAssassin, {options.Seeds} sweep(s) of {options.Ingredients}; writing to {options.Out}");
        return ProgressView.Run(stderr, view => TextSoupsDemo.Run(options, Reporter(view), cancel));
    }

    /// <summary>A demo's progress into the view: training bars (or lines) and one line per stage message.</summary>
    static Action<DemoProgress> Reporter(ProgressView view)
    {
        var training = new TrainingProgressReporter(view);
        return p =>
        {
            if (p.Training is { } t) training.Report(t);
            else if (p.Message is { } m) view.Line($"[{p.Stage}] {m}");
        };
    }

    /// <summary>Prints the summary table over sweeps, the paired tests, the headline and the stage times.</summary>
    public static void PrintText(TextDemoSummary summary, string output, TextWriter stdout)
    {
        stdout.WriteLine();
        stdout.WriteLine(TextDemoTable.Legend(summary));
        stdout.Write(TextDemoTable.Text(summary));
        stdout.WriteLine();
        foreach (var line in TextDemoTable.PairedLines(summary)) stdout.WriteLine(line);
        stdout.WriteLine();
        stdout.WriteLine(summary.Headline());
        stdout.WriteLine("Stage times: " + string.Join(", ", summary.Seconds.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value:0} s"))));
        stdout.WriteLine($"Report: {Path.Combine(output, DemoHtmlReport.FileName)}  Results: {Path.Combine(output, TextDemoSummary.FileName)}  Per sweep: {Path.Combine(output, "seed-N")}");
    }

    /// <summary>
    /// Runs the Sparse Model Soups demo into <c>DIR/sparse/</c> with progress on <paramref name="stderr"/> (the library
    /// also brings a main demo's report in DIR up to date with the sparse section).
    /// </summary>
    public static SparseDemoResult RunSparse(SparseDemoOptions options, TextWriter stderr, CancellationToken cancel = default)
    {
        stderr.WriteLine($"soup demo --sparse{(options.Quick ? " --quick" : "")}: writing to {Path.Combine(options.Out, SparseDemo.FolderName)}");
        return SparseDemo.Run(options, new SparseProgressPrinter(stderr).Report, cancel);
    }

    /// <summary>Prints the Table-3-style summary, the verdict and the stage times.</summary>
    public static void Print(DemoResults results, string output, TextWriter stdout)
    {
        stdout.WriteLine();
        stdout.WriteLine("Accuracy (%) on held-out, test and the mean over the corrupted test sets; cost = inference cost relative to one model.");
        stdout.Write(DemoTable.Text(results));
        stdout.WriteLine();
        stdout.WriteLine(DemoTable.Verdict(results));
        stdout.WriteLine("Stage times: " + string.Join(", ", results.Seconds.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value:0} s"))));
        stdout.WriteLine($"Report: {Path.Combine(output, DemoHtmlReport.FileName)}  Results: {Path.Combine(output, DemoResults.FileName)}");
    }
}
