using System.CommandLine;
using System.Globalization;
using ModelSoups.Experiments.Pleas;
using ModelSoups.Experiments.Sparse;
using ModelSoups.Reports;
using ModelSoups.Experiments.Vision;
using ModelSoups.TorchSharp.Sparse;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup demo [--quick | --full] [--out DIR]</c> and <c>soup demo --sparse [--quick] [--out DIR]</c> (<see cref="SparseDemo"/>): the model-soups experiment end to end on Fashion-MNIST with an
/// ImageNet ResNet-18 (see <see cref="SoupsDemo"/>). Parses, runs the library, prints progress and the table.
/// </summary>
public static class DemoCommand
{
    /// <summary>Default output folder.</summary>
    public const string DefaultOut = "soup-demo";

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Fewer, shorter runs on small samples (about 3 minutes on 2 cores)." };
        var full = new Option<bool>("--full") { Description = "The whole training set and more ingredients (hours on a CPU)." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder: ingredients/, soups/, work/, results.json, report.html. Rerunning resumes.", DefaultValueFactory = _ => DefaultOut };
        var sparse = new Option<bool>("--sparse") { Description = "Sparse Model Soups instead: prune a small CNN to 90 % in 3 phases and compare IMP with SMS uniform and greedy soups on the same corrupted test sets (DIR/sparse/; with --quick or alone)." };
        var pleas = new Option<bool>("--pleas") { Description = "PLeaS instead: two MLPs from different random initialisations (and a pair on classes 0–4 vs 5–9) merged by naive averaging, permute+average and PLeaS at budgets 1.0–2.0 (DIR/pleas/; about 5 minutes on 2 cores)." };
        var command = new Command("demo", "Model soups end to end: fine-tune ImageNet ResNet-18 ingredients on Fashion-MNIST, then compare the best model, uniform, greedy and learned soups and the ensemble on held-out, test and corrupted test sets.")
        {
            quick, full, sparse, pleas, outDir,
        };
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            if (parse.GetValue(quick) && parse.GetValue(full)) throw new ModelSoupsException("give at most one of --quick and --full");
            var output = Path.GetFullPath(parse.GetValue(outDir)!);
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
            var options = parse.GetValue(quick) ? DemoOptions.Quick(output) : parse.GetValue(full) ? DemoOptions.Full(output) : DemoOptions.Default(output);
            var results = Run(options, stderr, cancel);
            Print(results, output, stdout);
            return 0;
        }
    }

    /// <summary>Runs the demo with progress on <paramref name="stderr"/> and writes the reports.</summary>
    public static DemoResults Run(DemoOptions options, TextWriter stderr, CancellationToken cancel = default)
    {
        bool interactive = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
        var training = new TrainingProgressPrinter(stderr, interactive);
        stderr.WriteLine($"soup demo ({options.Preset}): writing to {options.Out}");
        return SoupsDemo.Run(options, p =>
        {
            if (p.Training is { } t) training.Report(t);
            else if (p.Message is { } m) stderr.WriteLine($"[{p.Stage}] {m}");
        }, (folder, results) => ReportWriter.WriteDemo(folder, results, SparseSections(folder)), cancel);
    }

    /// <summary>
    /// Runs the Sparse Model Soups demo into <c>DIR/sparse/</c> with progress on <paramref name="stderr"/>; when the main
    /// demo already wrote <c>DIR/results.json</c>, its <c>report.html</c> is regenerated to include the sparse section.
    /// </summary>
    public static SparseDemoResult RunSparse(SparseDemoOptions options, TextWriter stderr, CancellationToken cancel = default)
    {
        stderr.WriteLine($"soup demo --sparse{(options.Quick ? " --quick" : "")}: writing to {Path.Combine(options.Out, SparseDemo.FolderName)}");
        var result = SparseDemo.Run(options, new SparseProgressPrinter(stderr).Report, cancel);
        var main = Path.Combine(options.Out, DemoResults.FileName);
        if (File.Exists(main))
            ReportWriter.WriteDemo(options.Out, DemoResults.FromJson(File.ReadAllText(main), main), SparseSections(options.Out));
        return result;
    }

    /// <summary>The sparse demo's report section when <c>DIR/sparse/results.json</c> exists.</summary>
    static IReadOnlyList<string> SparseSections(string folder)
    {
        var path = Path.Combine(folder, SparseDemo.FolderName, SparseSoupResult.FileName);
        return File.Exists(path) ? [SparseReport.Html(SparseSoupResult.Read(path))] : [];
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
