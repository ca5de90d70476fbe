using System.CommandLine;
using System.Globalization;
using ModelSoups.Cli.Progress;
using ModelSoups.Engine;
using ModelSoups.Recipes;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup merge RECIPE.yaml --out DIR</c> or the quick form
/// <c>soup merge --method linear --models A B C --out DIR</c>: parses, hands the recipe to the
/// engine, prints the plan or the summary.
/// </summary>
public static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var recipe = new Argument<string?>("recipe") { Description = "A mergekit-style YAML recipe (omit for the quick form with --method/--models).", Arity = ArgumentArity.ZeroOrOne };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder (Hugging Face layout). Must not exist or be empty, unless --overwrite.", Required = true };
        var method = new Option<string?>("--method") { Description = $"Quick form: merge method ({string.Join(", ", ModelSoups.Merging.MergeMethods.All.Select(m => m.Name))})." };
        var models = new Option<string[]>("--models") { Description = "Quick form: the models to merge.", AllowMultipleArgumentsPerToken = true };
        var baseModel = new Option<string?>("--base") { Description = "Quick form: the base (pre-trained) model." };
        var weights = new Option<double[]>("--weights") { Description = "Quick form: one weight per model.", AllowMultipleArgumentsPerToken = true };
        var density = new Option<double?>("--density") { Description = "Quick form: density for every model (ties, dare_*, breadcrumbs*, della*; task_arithmetic with --set trim=true)." };
        var set = new Option<string[]>("--set") { Description = "Quick form: a global parameter, key=value (repeatable), e.g. --set lambda=0.5 --set random_seed=1." };
        var dtype = new Option<string?>("--dtype") { Description = "Compute dtype: float32 (default) or float64." };
        var outDtype = new Option<string?>("--out-dtype") { Description = "Output dtype of float tensors: bfloat16, float16, float32, float64 (default: as the inputs)." };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var budget = new Option<string>("--memory-budget") { Description = "Cap on working memory, e.g. 2GiB, 512MB.", DefaultValueFactory = _ => "2GiB" };
        var shard = new Option<string>("--max-shard-size") { Description = "Largest output shard, e.g. 5GB, 500MB, 2GiB.", DefaultValueFactory = _ => "5GB" };
        var plan = new Option<bool>("--plan") { Description = "Dry run: check the recipe and inputs from headers, print what would be done, write nothing." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder (only once the new one is complete)." };
        var allowMissing = new Option<bool>("--allow-missing") { Description = "Quick form: take tensors that are missing from some inputs, or differ in shape, from the base instead of failing." };
        var noHash = new Option<bool>("--no-hash") { Description = "Do not record the SHA-256 of the input files (saves one read of the inputs)." };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "Keep NaN/Inf values the merge produces (by default a merge that makes them fails, naming the tensors)." };
        var noTimestamp = new Option<bool>("--no-timestamp") { Description = "Leave the creation time out of the output, so reruns give byte-identical files (SOURCE_DATE_EPOCH is honoured too)." };
        var workDir = new Option<string?>("--work-dir") { Description = "A recipe of several '---' documents (mergekit-multi): folder for the intermediate merges (default: OUT.work)." };
        var command = new Command("merge", "Merge checkpoints with a recipe: model soups (linear), task arithmetic, TIES, DARE, Breadcrumbs, SLERP, Model Stock, layer swapping.")
        {
            recipe, outDir, method, models, baseModel, weights, density, set, dtype, outDtype, allowMissing, threads, budget, shard, plan, overwrite, noHash,
            allowNonFinite, noTimestamp, workDir,
        };
        var open = new CheckpointOpenCliOptions();
        open.AddTo(command);
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var recipePath = parse.GetValue(recipe);
            var methodName = parse.GetValue(method);
            Recipe r;
            if (recipePath is not null)
            {
                if (methodName is not null || parse.GetValue(models) is { Length: > 0 })
                    throw new ModelSoupsException("give either a recipe file or --method/--models, not both");
                if (RecipeParser.CountDocuments(recipePath) > 1) return RunChain(parse, recipePath, cancel);
                r = RecipeParser.ParseFile(recipePath);
            }
            else
            {
                if (methodName is null) throw new ModelSoupsException("give a recipe file, or --method and --models for the quick form");
                r = QuickRecipe.Build(methodName, parse.GetValue(models) ?? [], parse.GetValue(baseModel),
                    parse.GetValue(weights) is { Length: > 0 } w ? w : null, parse.GetValue(density), parse.GetValue(set),
                    parse.GetValue(dtype), parse.GetValue(outDtype), parse.GetValue(allowMissing));
            }
            var options = Options(parse);
            var output = parse.GetValue(outDir)!;
            if (string.IsNullOrWhiteSpace(output)) throw new ModelSoupsException("--out is empty; give the output folder.");
            using var mergePlan = MergePlan.Create(r, options);
            if (parse.GetValue(plan))
            {
                stdout.Write(mergePlan.Describe(options, Path.GetFullPath(output)));
                return 0;
            }
            var summary = ProgressView.Run(stderr, view =>
                MergeEngine.Run(mergePlan, output, options with { Progress = MergeProgressReporter.For(view) }, cancel));
            PrintSummary(stdout, summary, options);
            return 0;
        }

        MergeOptions Options(ParseResult parse)
        {
            if (string.IsNullOrWhiteSpace(parse.GetValue(outDir))) throw new ModelSoupsException("--out is empty; give the output folder.");
            int threadCount = parse.GetValue(threads);
            if (threadCount < 1) throw new ModelSoupsException("--threads must be at least 1");
            return new MergeOptions
            {
                Threads = threadCount,
                MemoryBudgetBytes = ByteSize.Parse(parse.GetValue(budget)!, "--memory-budget", requireUnit: true),
                MaxShardBytes = ByteSize.Parse(parse.GetValue(shard)!, "--max-shard-size"),
                Overwrite = parse.GetValue(overwrite),
                HashInputs = !parse.GetValue(noHash),
                AllowNonFinite = parse.GetValue(allowNonFinite),
                NoTimestamp = parse.GetValue(noTimestamp),
                Open = open.Read(parse),
            };
        }

        int RunChain(ParseResult parse, string recipePath, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var output = Path.GetFullPath(parse.GetValue(outDir)!);
            var work = parse.GetValue(workDir) ?? output + ".work";
            var options = Options(parse);
            var steps = RecipeChain.Plan(recipePath, output, work);
            if (parse.GetValue(plan))
            {
                foreach (var (step, i) in steps.Select((x, i) => (x, i)))
                {
                    stdout.WriteLine($"merge {i + 1}/{steps.Count} {step.Label} -> {step.OutputFolder}: {(step.Done ? "done (same recipe hash), skipped" : "will run")}");
                    if (step.Done) continue;
                    var pending = step.Uses.Where(u => !steps.First(x => x.Label == u).Done).ToList();
                    if (pending.Count > 0) { stdout.WriteLine($"  planned once {string.Join(", ", pending)} exist(s)"); continue; }
                    using var p = MergePlan.Create(step.Recipe, options);
                    foreach (var line in p.Describe(options, step.OutputFolder).Split('\n', StringSplitOptions.RemoveEmptyEntries)) stdout.WriteLine("  " + line);
                }
                return 0;
            }
            var results = ProgressView.Run(parse.InvocationConfiguration.Error, view =>
                RecipeChain.Run(steps, options with { Progress = MergeProgressReporter.For(view) }, (step, runs) =>
                {
                    if (!runs) stdout.WriteLine($"{step.Label}: done (same recipe hash), skipped: {step.OutputFolder}");
                }, cancel));
            foreach (var result in results)
            {
                if (result.Summary is null) continue;
                stdout.Write($"{result.Step.Label}: ");
                PrintSummary(stdout, result.Summary, options);
            }
            return 0;
        }

        static void PrintSummary(TextWriter stdout, MergeSummary summary, MergeOptions options)
        {
            stdout.WriteLine($"wrote {summary.OutputFolder}: {summary.TensorsMerged} tensors merged, {summary.TensorsCopied} copied, " +
                $"{ByteSize.Format(summary.OutputBytes)} in {summary.ShardFiles.Count} shard(s)");
            double seconds = summary.Elapsed.TotalSeconds;
            var anonText = summary.PeakRssAnonBytes is { } anon ? $"; process anonymous memory peak {ByteSize.Format(anon)}" : "";
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"read {ByteSize.Format(summary.InputBytes)} in {seconds:0.00} s ({summary.InputBytes / seconds / (1 << 30):0.00} GiB/s; hashing {summary.HashingTime.TotalSeconds:0.00} s); " +
                $"working memory peak {ByteSize.Format(summary.PeakWorkingBytes)} of {ByteSize.Format(options.MemoryBudgetBytes)}{anonText}"));
            foreach (var n in summary.Notes) stdout.WriteLine($"note: {n}");
        }
    }

}
