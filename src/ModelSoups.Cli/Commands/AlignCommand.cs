using System.CommandLine;
using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Data;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup align --reference A --model B --out DIR [--method weight|activation --data D --samples N]</c>: writes B with
/// its hidden units permuted onto A's (see <see cref="ModelAlignment"/>): the same function as B, ready to average with A.
/// </summary>
public static class AlignCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var reference = new Option<string>("--reference") { Description = "The model whose unit order is kept: a checkpoint folder with soup-model.json.", Required = true };
        var model = new Option<string>("--model") { Description = "The model to permute (same architecture, e.g. trained from another random initialisation).", Required = true };
        var outDir = new Option<string>("--out", "-o") { Description = "Output checkpoint folder: the permuted model (model.safetensors + soup-model.json).", Required = true };
        var method = new Option<string>("--method") { Description = "weight (Git Re-Basin weight matching, data-free) or activation (correlation of activations on --data).", DefaultValueFactory = _ => "weight" };
        var data = new Option<string?>("--data") { Description = "Data for activation matching: fashion-mnist, a dataset .safetensors file or a folder with train.safetensors (labels unused)." };
        var samples = new Option<int>("--samples") { Description = "Training images activation matching correlates over.", DefaultValueFactory = _ => 512 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the image sample and of weight matching's layer order.", DefaultValueFactory = _ => 0 };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder." };
        var command = new Command("align", "Permute a model's hidden units onto a reference model's (weight or activation matching); the output computes the same function.")
        {
            reference, model, outDir, method, data, samples, seed, overwrite,
        };
        command.SetAction((parse, cancel) => Task.FromResult(Execute(parse)));
        return command;

        int Execute(ParseResult parse)
        {
            var kind = ParseMethod(parse.GetValue(method)!);
            var dataSource = parse.GetValue(data);
            var train = dataSource is null ? null : DatasetSplits.Load(dataSource).Train;
            var result = ModelAlignment.Align(parse.GetValue(reference)!, parse.GetValue(model)!, Path.GetFullPath(parse.GetValue(outDir)!), kind,
                train, parse.GetValue(samples), seed: parse.GetValue(seed), overwrite: parse.GetValue(overwrite));
            var stdout = parse.InvocationConfiguration.Output;
            foreach (var (name, size, moved) in result.Groups)
                stdout.WriteLine($"{name,-12} {size,5} units  {moved,5} moved");
            stdout.WriteLine($"wrote {result.Output} ({kind.ToString().ToLowerInvariant()} matching)");
            return 0;
        }
    }

    /// <summary><c>weight</c> or <c>activation</c>.</summary>
    public static AlignmentMethod ParseMethod(string text) => text switch
    {
        "weight" => AlignmentMethod.Weight,
        "activation" => AlignmentMethod.Activation,
        _ => throw new ModelSoupsException($"--method must be weight or activation, not '{text}'"),
    };
}
