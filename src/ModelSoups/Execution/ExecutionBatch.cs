namespace ModelSoups.Execution;

/// <summary>Where and under what name an executor runs a batch of units.</summary>
/// <param name="Name">A short name (<c>finetune</c>, <c>ingredients</c>, <c>candidate</c>): job names and log folders start with it.</param>
/// <param name="StateFolder">The folder the executor keeps its scripts, logs and job records in (the output's work folder);
/// it must be on a file system every node sees for Slurm.</param>
public sealed record ExecutionBatch(string Name, string StateFolder);
