using System.CommandLine;
using ModelSoups.Checkpoints;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup convert IN --out DIR [--max-shard-size 5GB] [--state-dict-key K] [--strip-prefix P]</c>: writes a
/// checkpoint (typically a PyTorch <c>.bin</c>/<c>.pt</c>/<c>.pth</c> or a <c>pytorch_model.bin</c> folder) as a
/// safetensors folder, verified by reading it back (<see cref="CheckpointConversion.ToSafetensors"/>).
/// </summary>
public static class ConvertCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A .bin/.pt/.pth file, a Hugging Face folder (pytorch_model.bin, sharded or not), an index file, or safetensors." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder (Hugging Face safetensors layout). Must not exist or be empty, unless --overwrite.", Required = true };
        var shard = new Option<string>("--max-shard-size") { Description = "Largest output shard, e.g. 5GB, 500MB, 2GiB.", DefaultValueFactory = _ => "5GB" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder (only once the new one is complete)." };
        var open = new CheckpointOpenCliOptions();
        var command = new Command("convert", "Write a checkpoint (PyTorch .bin/.pt/.pth, sharded or not) as safetensors, verified by reading it back.") { input, outDir, shard, overwrite };
        open.AddTo(command);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var result = CheckpointConversion.ToSafetensors(parse.GetValue(input)!, parse.GetValue(outDir)!, new ConversionOptions
            {
                Open = open.Read(parse),
                MaxShardBytes = ByteSize.Parse(parse.GetValue(shard)!, "--max-shard-size"),
                Overwrite = parse.GetValue(overwrite),
            });
            foreach (var n in result.Notes) stdout.WriteLine($"note: {n}");
            stdout.WriteLine($"wrote {Path.GetFullPath(parse.GetValue(outDir)!)}: {result.Tensors} tensors, {ByteSize.Format(result.Bytes)} in {result.ShardFiles.Count} shard(s), read back and identical" +
                (result.CopiedFiles.Count > 0 ? $"; copied {string.Join(", ", result.CopiedFiles)}" : ""));
            return 0;
        });
        return command;
    }
}
