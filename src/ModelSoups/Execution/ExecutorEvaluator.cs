using ModelSoups.Evaluation;

namespace ModelSoups.Execution;

/// <summary>How evaluations leave this process: the executor, and the <c>soup</c> arguments that evaluate one folder.</summary>
/// <param name="Executor">Where the units run.</param>
/// <param name="WorkerArguments">Given a candidate folder and a result file, the <c>soup eval …</c> arguments
/// that evaluate it and write the result there.</param>
/// <param name="Progress">The executor's progress reports.</param>
public sealed record RemoteEvaluation(IExecutor Executor, Func<string, string, IReadOnlyList<string>> WorkerArguments, Action<ExecutionProgress>? Progress = null);

/// <summary>
/// An <see cref="IEvaluator"/> that runs each evaluation as a unit of work on an executor (local processes,
/// Slurm) with the same evaluator the local command would build, so scores — and the journal that records them —
/// are those of the local run. A candidate materialised in the work folder is copied to
/// <c>STATE/candidates/ID/</c> before it is submitted (the builder removes its own scratch folder when the
/// evaluation returns, and a job adopted by a later run must still find it). <see cref="EvaluateAll"/> runs many
/// at once (one Slurm array). Logits do not travel back: the ensemble baseline is not available this way.
/// </summary>
public sealed class ExecutorEvaluator : IEvaluator
{
    readonly RemoteEvaluation _remote;
    readonly IEvaluator _local;
    readonly string _state;
    readonly Dictionary<string, UnitOutcome> _failed = new(StringComparer.Ordinal);

    /// <summary>Evaluates as <paramref name="local"/> would, through <paramref name="remote"/>; keeps its files in <paramref name="stateFolder"/>.</summary>
    public ExecutorEvaluator(RemoteEvaluation remote, IEvaluator local, string stateFolder)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(local);
        _remote = remote;
        _local = local;
        _state = Path.GetFullPath(stateFolder);
        remote.Executor.CheckFolder(_state);
    }

    /// <inheritdoc/>
    public string Description => _local.Description;

    /// <inheritdoc/>
    public bool NeedsFolder => true;

    /// <inheritdoc/>
    public bool ProvidesLogits => false;

    /// <summary>The units that failed so far (their logs and exit codes).</summary>
    public IReadOnlyList<UnitOutcome> Failures => _failed.Values.ToList();

    /// <inheritdoc/>
    public EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var id = UnitId(candidate);
        if (_failed.TryGetValue(id, out var before)) throw Failure(candidate, before);
        var unit = Unit(candidate, id);
        var report = _remote.Executor.Run([unit], new ExecutionBatch("eval", _state), _remote.Progress, cancellationToken);
        return Collect(candidate, report.Outcomes[0]) ?? throw Failure(candidate, report.Outcomes[0]);
    }

    /// <summary>
    /// Evaluates every candidate as one batch (one Slurm array); a failed one does not stop the others. Returns the
    /// result of each, null for failures (named by <see cref="Failures"/>, and <see cref="Evaluate"/> of it fails
    /// at once). With <c>--no-wait</c>, throws <see cref="WorkSubmittedException"/> once submitted.
    /// </summary>
    public IReadOnlyList<EvaluationResult?> EvaluateAll(IReadOnlyList<Candidate> candidates, string batchName, CancellationToken cancel = default)
    {
        var units = candidates.Select(c => Unit(c, UnitId(c))).ToList();
        var report = _remote.Executor.Run(units, new ExecutionBatch(batchName, _state), _remote.Progress, cancel);
        if (report.Pending.Count > 0) throw new WorkSubmittedException(report.Pending, "rerun the same command to wait for them and go on");
        return candidates.Select((c, i) => Collect(c, report.Outcomes[i])).ToList();
    }

    EvaluationResult? Collect(Candidate candidate, UnitOutcome outcome)
    {
        if (outcome.State is UnitState.Queued or UnitState.Running or UnitState.Waiting)
            throw new WorkSubmittedException([outcome], "rerun the same command to wait for it and go on");
        var copy = CopyFolder(outcome.Unit.Id);
        if (outcome.State == UnitState.Done)
        {
            var result = EvaluationResultFile.Read(outcome.Unit.ResultFile);
            if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
            return result;
        }
        _failed[outcome.Unit.Id] = outcome;
        if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
        return null;
    }

    EvaluationException Failure(Candidate candidate, UnitOutcome outcome) =>
        new(candidate.Name, $"the evaluation of '{candidate.Name}' failed: {outcome.Describe()}", outcome.Log);

    static string UnitId(Candidate candidate) => WorkUnit.IdFor("eval", candidate.Name);

    string CopyFolder(string id) => Path.Combine(_state, "candidates", id);

    WorkUnit Unit(Candidate candidate, string id)
    {
        var folder = candidate.RequireFolder("remote");
        bool scratch = folder.StartsWith(_state + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        var target = scratch ? CopyFolder(id) : folder;
        return new WorkUnit
        {
            Id = id,
            Arguments = _remote.WorkerArguments(target, ResultFile(id)),
            ResultFile = ResultFile(id),
            WorkingDirectory = Environment.CurrentDirectory,
            Prepare = scratch ? () => Copy(folder, target) : null,
        };
    }

    string ResultFile(string id) => Path.Combine(_state, "results", id + ".json");

    /// <summary>
    /// Copies a scratch candidate where the job will read it: into a temporary name, then moved into place by
    /// <see cref="Durability.AtomicFolder.Publish"/> (fsynced, locked), so a job never sees half of it.
    /// </summary>
    static void Copy(string from, string to)
    {
        if (Directory.Exists(to)) Directory.Delete(to, recursive: true);
        var temp = to + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        CopyTree(from, temp);
        Durability.AtomicFolder.Publish(temp, to);
    }

    static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.EnumerateDirectories(from)) CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
