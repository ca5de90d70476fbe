using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelSoups.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Soups;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup learn --models DIR1 DIR2 ... --data ... [--by-layer] --out DIR</c>: learns the mixing coefficients of a
/// soup on held-out data (see <see cref="LearnedSoup"/>) and writes the soup with <c>learned.json</c>.
/// </summary>
public static class LearnCommand
{
    /// <summary>File with α, β and the curve, beside the soup's weights.</summary>
    public const string LearnedFileName = LearnedSoupRun.ResultFileName;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var models = new Option<string[]>("--models") { Description = "Ingredient folders (with soup-model.json), e.g. DIR/run-*.", Required = true, AllowMultipleArgumentsPerToken = true };
        var data = new Option<string>("--data") { Description = "fashion-mnist, a dataset .safetensors file or a dataset folder; the soup is fitted on its held-out part.", Required = true };
        var byLayer = new Option<bool>("--by-layer") { Description = "One coefficient per tensor per ingredient instead of one per ingredient." };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the held-out data.", DefaultValueFactory = _ => 5 };
        var lr = new Option<double>("--lr") { Description = "AdamW learning rate of the coefficients.", DefaultValueFactory = _ => 0.05 };
        var batch = new Option<int>("--batch-size") { Description = "Batch size.", DefaultValueFactory = _ => 256 };
        var limit = new Option<int?>("--limit") { Description = "Fit on a seeded sample of at most N held-out examples." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder for the soup.", Required = true };
        var command = new Command("learn", "Learned soup: fit the mixing coefficients of the ingredients by gradient descent on held-out data (all ingredients in memory).")
        {
            models, data, byLayer, epochs, lr, batch, limit, outDir,
        };
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse, cancel)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancel)
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var folders = parse.GetValue(models) ?? [];
            if (folders.Length == 0) throw new ModelSoupsException("--models needs at least one ingredient folder");
            var splits = DatasetSplits.Load(parse.GetValue(data)!);
            var heldOut = parse.GetValue(limit) is { } n ? splits.HeldOut.Sample(n, DatasetSplits.DefaultSplitSeed) : splits.HeldOut;
            var outFolder = parse.GetValue(outDir)!;
            var result = LearnedSoupRun.Run(folders, heldOut, new LearnedSoupOptions
            {
                ByLayer = parse.GetValue(byLayer),
                Epochs = parse.GetValue(epochs),
                LearningRate = parse.GetValue(lr),
                BatchSize = parse.GetValue(batch),
            }, outFolder, (epoch, step, loss) => stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch} step {step} loss {loss:0.0000}")), cancel);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {Path.GetFullPath(outFolder)}: learned {(result.ByLayer ? "by-layer" : "global")} soup of {folders.Length} ingredient(s), β {result.Beta:0.###}, " +
                $"last epoch loss {(result.Curve.Count > 0 ? result.Curve[^1].Loss : double.NaN):0.0000} accuracy {(result.Curve.Count > 0 ? result.Curve[^1].Accuracy : double.NaN):P2}"));
            if (!result.ByLayer)
                stdout.WriteLine("α: " + string.Join(", ", result.Ingredients.Zip(result.Alpha[0], (name, a) => string.Create(CultureInfo.InvariantCulture, $"{name} {a:0.000}"))));
            return 0;
        }
    }
}
