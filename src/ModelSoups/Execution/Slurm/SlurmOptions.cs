namespace ModelSoups.Execution.Slurm;

/// <summary>What <c>--executor slurm</c> asks of Slurm (each maps to one <c>#SBATCH</c> line) and how soup waits.</summary>
public sealed record SlurmOptions
{
    /// <summary><c>--partition</c>.</summary>
    public string? Partition { get; init; }
    /// <summary><c>--time</c> per task, in any form sbatch accepts (<c>30</c>, <c>2:00:00</c>, <c>1-00:00:00</c>).</summary>
    public string? Time { get; init; }
    /// <summary><c>--cpus-per-task</c>.</summary>
    public int? Cpus { get; init; }
    /// <summary><c>--mem</c> per task (<c>8G</c>).</summary>
    public string? Memory { get; init; }
    /// <summary><c>--gres</c> (<c>gpu:1</c>).</summary>
    public string? Gres { get; init; }
    /// <summary><c>--account</c>.</summary>
    public string? Account { get; init; }
    /// <summary>Most tasks of one array running at once: the <c>%N</c> of <c>--array=0-K%N</c>.</summary>
    public int? MaxParallel { get; init; }
    /// <summary>Further sbatch options, one <c>#SBATCH</c> line each, as given (<c>--qos=high</c>).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
    /// <summary>Allow an output folder on a node-local file system (/tmp, tmpfs): only right on a single-node cluster.</summary>
    public bool AllowLocal { get; init; }
    /// <summary>Submit and return without waiting (<c>--no-wait</c>).</summary>
    public bool NoWait { get; init; }
    /// <summary>Time between two looks at the queue.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How often one unit is resubmitted after NODE_FAIL / PREEMPTED / BOOT_FAIL within one command.</summary>
    public int MaxAutomaticRetries { get; init; } = 2;

    /// <summary>Checks the numbers; a user error names the flag.</summary>
    public void Validate()
    {
        if (Cpus is < 1) throw new ModelSoupsException("--slurm-cpus must be at least 1.");
        if (MaxParallel is < 1) throw new ModelSoupsException("--slurm-max-parallel must be at least 1.");
        foreach (var (flag, value) in new[] { ("--slurm-partition", Partition), ("--slurm-time", Time), ("--slurm-mem", Memory), ("--slurm-gres", Gres), ("--slurm-account", Account) })
            if (value is not null && (value.Length == 0 || value.Any(char.IsControl) || value.Any(char.IsWhiteSpace)))
                throw new ModelSoupsException($"{flag} '{Tensors.PrintableName.Of(value)}' is empty or holds spaces or control characters.");
        foreach (var a in ExtraArguments)
            if (!a.StartsWith('-') || a.Any(char.IsControl))
                throw new ModelSoupsException($"--sbatch-arg '{Tensors.PrintableName.Of(a)}' is not an sbatch option (it must start with '-', one option per --sbatch-arg, e.g. --sbatch-arg=--qos=high).");
        if (PollInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PollInterval));
    }
}
