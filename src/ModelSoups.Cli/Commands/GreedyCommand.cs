using System.CommandLine;
using System.Globalization;
using ModelSoups.Cli.Progress;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Reports;
using ModelSoups.Soups;
using ModelSoups.Tensors;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup greedy --models M1 M2 … [evaluator options] --out DIR</c>: the greedy soup of Wortsman et al. (2022),
/// resumable (journal in DIR.work), with the paper's baselines and a report.
/// </summary>
public static class GreedyCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var models = new Option<string[]>("--models") { Description = "The ingredients (fine-tunes of one model), in order; the order breaks score ties.", AllowMultipleArgumentsPerToken = true, Required = true };
        var baseModel = new Option<string?>("--base") { Description = "Base model: source of non-float tensors and of config/tokenizer files." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder (Hugging Face layout); must not exist or be empty. The journal goes to DIR.work.", Required = true };
        var accept = new Option<string>("--accept") { Description = "Keep an ingredient when the candidate scores ge (≥, the paper, default) or gt (>, the official code) the soup.", DefaultValueFactory = _ => "ge" };
        var also = new Option<string?>("--also") { Description = "Also evaluate baselines: uniform (soup of all ingredients), ensemble (mean logits; evaluators with logits: --onnx, --torch-model), comma-separated." };
        var outDtype = new Option<string?>("--out-dtype") { Description = "Output dtype of float tensors: bfloat16, float16, float32, float64 (default: as the inputs)." };
        var threads = new Option<int>("--threads") { Description = "Worker threads of the final merge (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var budget = new Option<string>("--memory-budget") { Description = "Cap on working memory, e.g. 2GiB; the running sum goes to a scratch file beyond half of it.", DefaultValueFactory = _ => "2GiB" };
        var noReport = new Option<bool>("--no-report") { Description = "Do not write report.html and report.md." };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "Keep NaN/Inf values the final merge produces (by default it fails, naming the tensors)." };
        var noTimestamp = new Option<bool>("--no-timestamp") { Description = "Leave the creation time out of the output (byte-reproducible; SOURCE_DATE_EPOCH is honoured too)." };
        var evaluatorOptions = new EvaluatorOptions();
        var command = new Command("greedy", "Greedy soup: rank ingredients by held-out score, add each to the soup when the average does not get worse; resumable.")
        {
            models, baseModel, outDir, accept, also, outDtype, threads, budget, noReport, allowNonFinite, noTimestamp,
        };
        evaluatorOptions.AddTo(command);
        var open = new CheckpointOpenCliOptions();
        open.AddTo(command);
        var executorOptions = new ExecutorCliOptions();
        executorOptions.AddTo(command);
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var rule = parse.GetValue(accept) switch
            {
                "ge" => AcceptRule.GreaterOrEqual,
                "gt" => AcceptRule.Greater,
                var v => throw new ModelSoupsException($"--accept: '{v}' is neither ge nor gt."),
            };
            bool uniform = false, ensemble = false;
            foreach (var part in (parse.GetValue(also) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (part == "uniform") uniform = true;
                else if (part == "ensemble") ensemble = true;
                else throw new ModelSoupsException($"--also: '{part}' is neither uniform nor ensemble.");
            }
            DType? od = null;
            if (parse.GetValue(outDtype) is { } odText)
            {
                if (!DTypeNames.TryParseOutput(odText, out var t))
                    throw new ModelSoupsException($"--out-dtype: '{odText}' is not one of {DTypeNames.OutputChoices}.");
                od = t;
            }
            int threadCount = parse.GetValue(threads);
            if (threadCount < 1) throw new ModelSoupsException("--threads must be at least 1.");
            long budgetBytes = ByteSize.Parse(parse.GetValue(budget)!, "--memory-budget", requireUnit: true);

            bool skip = evaluatorOptions.SkipErrors(parse);
            var (evaluator, data) = evaluatorOptions.Create(parse);
            using var _ = data;
            bool writeReport = !parse.GetValue(noReport);
            var executor = executorOptions.Create(parse);
            // The executor's lines go to the same view as the evaluations and the merge bar (one console).
            ModelSoups.Execution.RemoteEvaluation? Remote(ProgressView view) =>
                executor is null ? null : evaluatorOptions.Remote(parse, executor, open, new ExecutionProgressView(view, executor.Name).Report);
            var settings = new GreedyRunSettings
            {
                Models = parse.GetValue(models)!,
                Base = parse.GetValue(baseModel),
                Open = open.Read(parse),
                Output = parse.GetValue(outDir)!,
                Rule = rule,
                AlsoUniform = uniform,
                AlsoEnsemble = ensemble,
                OutDType = od,
                Threads = threadCount,
                MemoryBudgetBytes = budgetBytes,
                SkipFailedEvaluations = skip,
                AllowNonFinite = parse.GetValue(allowNonFinite),
                NoTimestamp = parse.GetValue(noTimestamp),
                Provenance = new Dictionary<string, string> { ["command"] = "soup " + string.Join(' ', parse.Tokens.Select(t => t.Value)) },
            };
            var outcome = ProgressView.Run(stderr, view => GreedySoupRun.Run(settings with
            {
                Remote = Remote(view),
                Progress = p => Report(view, p),
                MergeProgress = MergeProgressReporter.For(view),
            }, evaluator, cancel));
            // The reports are derived from results.json: written beside it once the soup is in place (each file atomic).
            if (writeReport) ReportWriter.Write(outcome.OutputFolder, outcome.Results);
            var r = outcome.Results;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"greedy soup: {r.Members.Count} of {r.Ingredients.Count} ingredients ({string.Join(", ", r.Members.Select(i => r.Ingredients[i].Name))}), " +
                $"score {SoupResults.FormatScore(r.GreedyScore)} (best individual {SoupResults.FormatScore(r.BestIngredient.Score)})"));
            foreach (var b in r.Baselines)
                stdout.WriteLine($"{b.Name}: {SoupResults.FormatScore(b.Score)}{(b.Note is null ? "" : $" ({b.Note})")}");
            stdout.WriteLine($"evaluations: {outcome.Evaluated} run, {outcome.Replayed} from the journal");
            stdout.WriteLine($"wrote {outcome.OutputFolder}: {outcome.Merge.TensorsMerged} tensors merged, {outcome.Merge.TensorsCopied} copied, {ByteSize.Format(outcome.Merge.OutputBytes)}");
            if (writeReport) stdout.WriteLine($"report: {Path.Combine(outcome.OutputFolder, HtmlReport.FileName)}");
            return 0;
        }
    }

    /// <summary>One line per evaluation; on a terminal green when the candidate reaches the best so far, else grey.</summary>
    static void Report(ProgressView view, GreedyProgress p)
    {
        var score = p.Score is { } s ? SoupResults.FormatScore(s) : "failed";
        var best = p.Best is { } b ? $" (best {SoupResults.FormatScore(b)})" : "";
        var eta = p.Eta is { } e && p.Done < p.Total ? $"  ETA {FormatSpan(e)}" : "";
        var from = p.Replayed ? "  [journal]" : "";
        var error = p.Error is null ? "" : $": {p.Error}";
        var line = $"[{p.Done}/{p.Total}] {p.Candidate}: {score}{best}{from}{eta}{error}";
        view.Line(line, p.Score is null || p.Best is null ? null : p.Score >= p.Best ? Spectre.Console.Color.Green : Spectre.Console.Color.Grey);
    }

    static string FormatSpan(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:00}s" : $"{t.TotalSeconds:0}s";
}
