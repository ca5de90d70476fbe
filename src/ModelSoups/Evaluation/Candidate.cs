using ModelSoups.Checkpoints;

namespace ModelSoups.Evaluation;

/// <summary>
/// A model to evaluate: a checkpoint folder on disk, an open in-memory <see cref="ICheckpoint"/>, or both.
/// Evaluators that run an external program need the folder (<see cref="IEvaluator.NeedsFolder"/>);
/// in-process evaluators read the checkpoint. The candidate does not own the checkpoint: whoever
/// created it disposes it.
/// </summary>
public sealed class Candidate
{
    /// <summary>A short name for messages and journals, e.g. "ingredient 3 (run-17)" or "soup {0, 4, 7}".</summary>
    public string Name { get; }

    /// <summary>The checkpoint folder, when the candidate exists on disk.</summary>
    public string? Folder { get; }

    /// <summary>The tensors, when the candidate is open in memory (or memory-mapped).</summary>
    public ICheckpoint? Checkpoint { get; }

    public Candidate(string name, string? folder, ICheckpoint? checkpoint)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (folder is null && checkpoint is null)
            throw new ArgumentException("A candidate needs a folder or a checkpoint.", nameof(folder));
        Name = name;
        Folder = folder is null ? null : System.IO.Path.GetFullPath(folder);
        Checkpoint = checkpoint;
    }

    /// <summary>A candidate that lives in a folder on disk.</summary>
    public static Candidate FromFolder(string name, string folder) => new(name, folder, null);

    /// <summary>A candidate held as an open checkpoint (its <see cref="ICheckpoint.Folder"/> is used as the folder when set).</summary>
    public static Candidate FromCheckpoint(string name, ICheckpoint checkpoint) => new(name, checkpoint.Folder, checkpoint);

    /// <summary>The folder, or an <see cref="EvaluationException"/> saying the evaluator needs one.</summary>
    public string RequireFolder(string evaluator) => Folder ??
        throw new EvaluationException(Name, $"the {evaluator} evaluator needs candidate '{Name}' as a folder on disk, but it is only in memory.");

    /// <summary>The checkpoint, or an <see cref="EvaluationException"/> saying the evaluator needs one.</summary>
    public ICheckpoint RequireCheckpoint(string evaluator) => Checkpoint ??
        throw new EvaluationException(Name, $"the {evaluator} evaluator needs candidate '{Name}' open in memory, but only its folder was given.", Folder);

    public override string ToString() => Name;
}
