using ModelSoups.Engine;
using ModelSoups.Tensors;

namespace ModelSoups.Soups;

/// <summary>What <c>soup greedy</c> does: the ingredients, the output and how (see <see cref="GreedySoupRun"/>).</summary>
public sealed record GreedyRunSettings
{
    /// <summary>Ingredient paths (folders, index files or .safetensors files), in command-line order (breaks score ties).</summary>
    public required IReadOnlyList<string> Models { get; init; }

    /// <summary>Optional base model: source of non-float tensors and of config/tokenizer files.</summary>
    public string? Base { get; init; }

    /// <summary>How ingredients that are PyTorch files are read (state dict key, prefix to strip).</summary>
    public Checkpoints.CheckpointOpenOptions Open { get; init; } = Checkpoints.CheckpointOpenOptions.Default;

    /// <summary>The output folder (Hugging Face layout); must not exist or be empty.</summary>
    public required string Output { get; init; }

    /// <summary>Work folder holding the journal and scratch files; default <c>OUTPUT.work</c> beside the output.</summary>
    public string? WorkFolder { get; init; }

    /// <summary>Accept rule: ≥ (paper) or &gt; (official code).</summary>
    public AcceptRule Rule { get; init; } = AcceptRule.GreaterOrEqual;

    /// <summary>Also evaluate the uniform soup of all ingredients (the paper's baseline).</summary>
    public bool AlsoUniform { get; init; }

    /// <summary>Also evaluate the logit ensemble of all ingredients (needs an evaluator that returns logits).</summary>
    public bool AlsoEnsemble { get; init; }

    /// <summary>Output dtype of float tensors; null: as the inputs.</summary>
    public DType? OutDType { get; init; }

    /// <summary>Threads of the final merge.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Memory budget of the final merge and of the running sum (kept on disk beyond half of it).</summary>
    public long MemoryBudgetBytes { get; init; } = 2L << 30;

    /// <summary>Skip failed evaluations instead of stopping (<c>--on-eval-error skip</c>).</summary>
    public bool SkipFailedEvaluations { get; init; }

    /// <summary>Called after each evaluation (or skipped failure).</summary>
    public Action<GreedyProgress>? Progress { get; init; }

    /// <summary>Progress of the final merge.</summary>
    public Action<MergeProgress>? MergeProgress { get; init; }

    /// <summary>Extra provenance recorded in results.json (e.g. the command line).</summary>
    public IReadOnlyDictionary<string, string>? Provenance { get; init; }

    /// <summary>Leave the creation time out of the outputs (byte-reproducible; see <see cref="Engine.CreationTime"/>).</summary>
    public bool NoTimestamp { get; init; }

    /// <summary>Keep non-finite values the final merge makes instead of failing.</summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>
    /// Run the evaluations elsewhere (local worker processes, Slurm): the k ingredient evaluations as one batch
    /// (one job array), then each greedy candidate as one job, each running the same evaluator. Null: in process.
    /// Executor files go to the work folder (<c>WORK/slurm/…</c>, <c>WORK/results/</c>).
    /// </summary>
    public Execution.RemoteEvaluation? Remote { get; init; }
}

/// <summary>
/// One progress event of a greedy run: which candidate, its score (null when it failed), the best score so
/// far to compare with, how many evaluations of the total are done and an estimate of the time left.
/// </summary>
public sealed record GreedyProgress(
    string Candidate,
    double? Score,
    double? Best,
    bool Replayed,
    int Done,
    int Total,
    TimeSpan? Eta,
    string? Error = null);
