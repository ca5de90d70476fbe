namespace ModelSoups.Checkpoints;

/// <summary>
/// How <see cref="Checkpoint.Open(string, CheckpointOpenOptions?)"/> picks tensors out of a PyTorch
/// (<c>torch.save</c>) file. Safetensors files hold only tensors, so neither option applies to them.
/// </summary>
public sealed record CheckpointOpenOptions
{
    /// <summary>
    /// The key of the state dict inside a nested checkpoint (<c>{"state_dict": {...}}</c>); a path
    /// of keys joined by '/' for deeper nesting (<c>model/ema</c>). Null: the top level when it
    /// holds tensors, else the first of <see cref="Formats.PyTorch.StateDictSelector.CommonKeys"/> that does.
    /// </summary>
    public string? StateDictKey { get; init; }

    /// <summary>A prefix removed from every tensor name that starts with it, e.g. <c>module.</c> from DataParallel.</summary>
    public string? StripPrefix { get; init; }

    /// <summary>The defaults: auto-detect the state dict, keep names as they are.</summary>
    public static CheckpointOpenOptions Default { get; } = new();
}
