namespace ModelSoups.Execution;

/// <summary>One unit's state in a progress report.</summary>
/// <param name="Id">The unit's id.</param>
/// <param name="State">Where it stands.</param>
/// <param name="JobId">The Slurm job id (e.g. <c>1234_5</c>) or process id, when it has one.</param>
/// <param name="Reused">True when its result existed before this command (nothing was run).</param>
public sealed record UnitStatus(string Id, UnitState State, string? JobId, bool Reused = false);
