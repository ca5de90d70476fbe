using System.CommandLine;
using ModelSoups.Checkpoints;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>--state-dict-key KEY</c> and <c>--strip-prefix PREFIX</c>: how a command that opens checkpoints reads
/// PyTorch (<c>torch.save</c>) inputs. Add them with <see cref="AddTo"/>, read them with <see cref="Read"/>.
/// </summary>
public sealed class CheckpointOpenCliOptions
{
    /// <summary><c>--state-dict-key</c>.</summary>
    public Option<string?> StateDictKey { get; } = new("--state-dict-key")
    {
        Description = "PyTorch inputs: the key of the state dict in a nested checkpoint (e.g. state_dict, model; a/b for deeper). Default: auto-detect and say which.",
    };

    /// <summary><c>--strip-prefix</c>.</summary>
    public Option<string?> StripPrefix { get; } = new("--strip-prefix")
    {
        Description = "PyTorch inputs: remove this prefix from tensor names that start with it (e.g. module. from DataParallel).",
    };

    /// <summary>Adds both options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(StateDictKey);
        command.Options.Add(StripPrefix);
    }

    /// <summary>The options as given.</summary>
    public CheckpointOpenOptions Read(ParseResult parse) => new()
    {
        StateDictKey = parse.GetValue(StateDictKey) is { Length: > 0 } k ? k : null,
        StripPrefix = parse.GetValue(StripPrefix) is { Length: > 0 } p ? p : null,
    };
}
