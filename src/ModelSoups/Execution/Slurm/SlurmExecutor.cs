using System.Diagnostics;
using System.Globalization;

namespace ModelSoups.Execution.Slurm;

/// <summary>
/// <c>--executor slurm</c>: the units not yet done become one <c>sbatch --array</c> job (script, unit files and
/// per-task logs in <c>STATE/slurm/BATCH-NNN/</c>), recorded in <see cref="SlurmJobRecords"/> as soon as sbatch
/// answers. A unit whose recorded job is still queued or running is adopted (waited for), never submitted twice;
/// a unit whose result file exists is never submitted; a unit whose last job ended without a result is submitted
/// again. Waiting polls <c>squeue</c> (which also lists jobs that ended in the last MinJobAge seconds, with their
/// state), then <c>sacct</c> where the cluster has accounting, then the task's exit file and the result file.
/// The retry rule is <see cref="SlurmJobStates.IsRetriedAutomatically"/>. Cancelling (Ctrl-C) runs <c>scancel</c>
/// on the jobs this call submitted, reports it, and throws <see cref="OperationCanceledException"/>; a client
/// killed outright leaves its jobs running, and the next identical command adopts them.
/// </summary>
public sealed class SlurmExecutor : IExecutor
{
    readonly SlurmOptions _options;
    readonly WorkerCommand _worker;
    readonly ISlurmCommands _slurm;

    /// <summary>A Slurm executor submitting <paramref name="worker"/> tasks with <paramref name="options"/>.</summary>
    public SlurmExecutor(SlurmOptions options, WorkerCommand worker, ISlurmCommands? commands = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(worker);
        options.Validate();
        _options = options;
        _worker = worker;
        _slurm = commands ?? new SlurmCommands();
    }

    /// <inheritdoc/>
    public string Name => "slurm";

    /// <summary>The options.</summary>
    public SlurmOptions Options => _options;

    sealed class Tracked(WorkUnit unit, int index)
    {
        public WorkUnit Unit { get; } = unit;
        public int Index { get; } = index;
        public UnitState State { get; set; } = UnitState.Waiting;
        public string? JobId { get; set; }
        public string? Log { get; set; }
        public string? ExitFile { get; set; }
        public int Attempt { get; set; }
        public int Retries { get; set; }
        public bool Reused { get; set; }
        public bool SubmittedHere { get; set; }
        public int MissingPolls { get; set; }
        public UnitOutcome? Outcome { get; set; }
    }

    /// <inheritdoc/>
    public void CheckFolder(string folder) => NodeLocalPath.Check(folder, _options.AllowLocal);

    /// <inheritdoc/>
    public ExecutionReport Run(IReadOnlyList<WorkUnit> units, ExecutionBatch batch, Action<ExecutionProgress>? progress = null, CancellationToken cancel = default)
    {
        foreach (var u in units) u.Validate();
        if (units.Select(u => u.Id).Distinct(StringComparer.Ordinal).Count() != units.Count) throw new ArgumentException("unit ids must be distinct", nameof(units));
        NodeLocalPath.Check(batch.StateFolder, _options.AllowLocal);
        foreach (var u in units) NodeLocalPath.Check(Path.GetDirectoryName(u.ResultFile)!, _options.AllowLocal);
        using var records = SlurmJobRecords.Open(batch.StateFolder);
        var tracked = units.Select((u, i) => new Tracked(u, i)).ToList();
        var submitted = new List<string>();   // array job ids submitted by this call (for scancel)

        void Report(string? note = null) => progress?.Invoke(new ExecutionProgress(batch.Name,
            tracked.Select(t => new UnitStatus(t.Unit.Id, t.State, t.JobId, t.Reused)).ToList(), note));

        try
        {
            // 1. What is already done, what is still queued or running from an earlier command, what must be submitted.
            var queue = tracked.Any(t => !t.Unit.IsDone) ? _slurm.Queue() : new Dictionary<string, SlurmJobInfo>();
            var toSubmit = new List<Tracked>();
            foreach (var t in tracked)
            {
                var attempts = records.Attempts(t.Unit.Id);
                t.Attempt = attempts.Count;
                if (t.Unit.IsDone)
                {
                    t.State = UnitState.Done;
                    t.Reused = true;
                    t.JobId = attempts.LastOrDefault()?.JobId;
                    t.Outcome = new UnitOutcome(t.Unit, UnitState.Done, t.JobId, Reused: true);
                    continue;
                }
                if (attempts.LastOrDefault() is { EndState: null } last && queue.TryGetValue(last.JobId, out var info) && info.State.IsActive())
                {
                    if (last.ArgumentsHash != t.Unit.ArgumentsHash)
                        throw new ModelSoupsException($"unit {t.Unit.Id} has Slurm job {last.JobId} still {info.State.SlurmName()} from a command with other settings; wait for it or scancel {last.JobId}, then rerun.", records.Path);
                    t.JobId = last.JobId;
                    t.Log = last.Log;
                    t.ExitFile = ExitFileOf(last.Log);
                    t.State = info.State == SlurmJobState.Pending ? UnitState.Queued : UnitState.Running;
                    continue;
                }
                toSubmit.Add(t);
            }
            if (toSubmit.Count > 0) Submit(toSubmit, batch, records, submitted);
            Report(Adopted(tracked));

            if (_options.NoWait)
                return Finish(tracked);

            // 2. Wait.
            while (tracked.Any(t => t.Outcome is null))
            {
                cancel.WaitHandle.WaitOne(_options.PollInterval);
                cancel.ThrowIfCancellationRequested();
                var notes = Poll(tracked, batch, records, submitted);
                Report(notes.Count == 0 ? null : string.Join("; ", notes));
            }
            return Finish(tracked);
        }
        catch (OperationCanceledException)
        {
            if (submitted.Count > 0)
            {
                _slurm.Cancel(submitted);
                Report($"cancelled Slurm job(s) {string.Join(", ", submitted)} (scancel)");
            }
            throw;
        }
    }

    static string? Adopted(List<Tracked> tracked)
    {
        var adopted = tracked.Where(t => !t.SubmittedHere && t.State is UnitState.Queued or UnitState.Running).ToList();
        return adopted.Count == 0 ? null : $"adopted {adopted.Count} job(s) still queued or running: {string.Join(", ", adopted.Select(t => t.JobId))}";
    }

    static ExecutionReport Finish(List<Tracked> tracked) =>
        new(tracked.Select(t => t.Outcome ?? new UnitOutcome(t.Unit, t.State, t.JobId, t.Log)).ToList());

    static string ExitFileOf(string log) => log.EndsWith(".err", StringComparison.Ordinal) ? log[..^4] + ".exit" : log + ".exit";

    /// <summary>Writes the batch folder and submits one array job for <paramref name="group"/>.</summary>
    void Submit(List<Tracked> group, ExecutionBatch batch, SlurmJobRecords records, List<string> submitted)
    {
        var root = Path.Combine(batch.StateFolder, "slurm");
        Directory.CreateDirectory(root);
        string folder;
        for (int n = 1; ; n++)
        {
            folder = Path.Combine(root, $"{batch.Name}-{n.ToString("000", CultureInfo.InvariantCulture)}");
            try
            {
                // CreateDirectory succeeds on an existing folder, so claim the name with a marker file.
                Directory.CreateDirectory(folder);
                using (new FileStream(Path.Combine(folder, ".claimed"), FileMode.CreateNew)) { }
                break;
            }
            catch (IOException) when (File.Exists(Path.Combine(folder, ".claimed"))) { }
        }
        Directory.CreateDirectory(Path.Combine(folder, "units"));
        var cwd = group[0].Unit.WorkingDirectory;
        for (int i = 0; i < group.Count; i++)
        {
            group[i].Unit.Prepare?.Invoke();
            group[i].Unit.Write(SlurmScript.UnitFile(folder, i));
        }
        var script = Path.Combine(folder, SlurmScript.FileName);
        Durability.AtomicFile.WriteAllText(script, SlurmScript.Generate($"soup-{batch.Name}", folder, group.Count, group.Select(t => t.Unit.Id).ToList(), _worker, cwd, _options));
        var job = _slurm.Submit(script, cwd);
        submitted.Add(job);
        for (int i = 0; i < group.Count; i++)
        {
            var t = group[i];
            t.Attempt++;
            t.JobId = $"{job}_{i.ToString(CultureInfo.InvariantCulture)}";
            t.Log = SlurmScript.ErrorLog(folder, i);
            t.ExitFile = SlurmScript.ExitFile(folder, i);
            t.State = UnitState.Queued;
            t.SubmittedHere = true;
            t.MissingPolls = 0;
            records.RecordSubmission(t.Unit.Id, t.Attempt, t.JobId, Path.GetFileName(folder), t.Unit.ArgumentsHash, t.Log);
        }
    }

    /// <summary>One look at the queue: updates every unit still open; returns notes (retries).</summary>
    List<string> Poll(List<Tracked> tracked, ExecutionBatch batch, SlurmJobRecords records, List<string> submitted)
    {
        var notes = new List<string>();
        var queue = _slurm.Queue();
        var open = tracked.Where(t => t.Outcome is null).ToList();
        var missing = open.Where(t => t.JobId is not null && !queue.ContainsKey(t.JobId)).Select(t => t.JobId!).ToList();
        var accounting = missing.Count > 0 ? _slurm.Accounting(missing) : null;
        var retry = new List<Tracked>();
        foreach (var t in open)
        {
            SlurmJobInfo? info = queue.TryGetValue(t.JobId!, out var q) ? q : accounting is not null && accounting.TryGetValue(t.JobId!, out var a) ? a : null;
            if (info is not null && info.State.IsActive())
            {
                t.State = info.State == SlurmJobState.Pending ? UnitState.Queued : UnitState.Running;
                continue;
            }
            if (t.Unit.IsDone)
            {
                t.State = UnitState.Done;
                t.Outcome = new UnitOutcome(t.Unit, UnitState.Done, t.JobId, t.Log, 0);
                continue;
            }
            // COMPLETED but no result yet: a shared file system may show the file a moment later.
            if (info?.State == SlurmJobState.Completed && ++t.MissingPolls < 3) continue;
            int? exit = info?.ExitCode ?? ReadExit(t.ExitFile);
            SlurmJobState state;
            if (info is not null) state = info.State == SlurmJobState.Completed ? SlurmJobState.Failed : info.State;
            else
            {
                // Gone from squeue and no accounting: the exit file says whether the task ran to its end.
                // A job just submitted may not be listed yet; give it a few polls before calling it lost.
                if (exit is null && ++t.MissingPolls < 3) continue;
                state = SlurmJobState.Failed;
            }
            if (state.IsRetriedAutomatically() && t.Retries < _options.MaxAutomaticRetries)
            {
                records.RecordEnd(t.Unit.Id, t.Attempt, state, exit);
                t.Retries++;
                notes.Add($"resubmitting {t.Unit.Id}: job {t.JobId} ended {state.SlurmName()} (retry {t.Retries} of {_options.MaxAutomaticRetries})");
                retry.Add(t);
                continue;
            }
            records.RecordEnd(t.Unit.Id, t.Attempt, state, exit);
            t.State = UnitState.Failed;
            string reason = info is null ? (exit is { } e ? $"exit code {e}" : "left the queue without writing its result")
                : info.State == SlurmJobState.Completed ? "COMPLETED without writing its result"
                : state.SlurmName() + (state == SlurmJobState.Failed && exit is { } fe ? $", exit code {fe}" : "");
            t.Outcome = new UnitOutcome(t.Unit, UnitState.Failed, t.JobId, t.Log, exit, reason + ProcessExecutor.LastLine(t.Log ?? ""));
        }
        if (retry.Count > 0) Submit(retry, batch, records, submitted);
        return notes;
    }

    /// <summary>Whether the unit of <paramref name="attempt"/> has its result (null: its unit file is gone).</summary>
    static bool? ResultOf(string stateFolder, SlurmJobRecords.Attempt attempt)
    {
        int underscore = attempt.JobId.LastIndexOf('_');
        if (underscore < 0 || !int.TryParse(attempt.JobId[(underscore + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int index)) return null;
        var file = SlurmScript.UnitFile(Path.Combine(stateFolder, "slurm", attempt.Batch), index);
        try { return File.Exists(file) ? WorkUnit.Read(file).IsDone : null; }
        catch (ModelSoupsException) { return null; }
    }

    static int? ReadExit(string? file)
    {
        if (file is null || !File.Exists(file)) return null;
        try
        {
            return int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int c) ? c : null;
        }
        catch (IOException) { return null; }
    }

    /// <summary>The state of every unit recorded in <paramref name="stateFolder"/> (for <c>soup status</c>).</summary>
    public static IReadOnlyList<(string Unit, SlurmJobRecords.Attempt Last, string State)> Status(string stateFolder, ISlurmCommands? commands = null)
    {
        var path = SlurmJobRecords.PathIn(stateFolder);
        if (!File.Exists(path)) throw new ModelSoupsException("no Slurm jobs were submitted from this folder (no job records).", path);
        var slurm = commands ?? new SlurmCommands();
        // Read-only: the command that submitted the jobs may be running and holding the records.
        using var records = SlurmJobRecords.OpenReadOnly(stateFolder);
        var queue = slurm.Queue();
        var list = new List<(string, SlurmJobRecords.Attempt, string)>();
        var units = records.Units();
        var lasts = units.Select(u => records.Attempts(u)[^1]).ToList();
        var missing = lasts.Where(l => !queue.ContainsKey(l.JobId)).Select(l => l.JobId).ToList();
        var accounting = missing.Count > 0 ? slurm.Accounting(missing) : null;
        for (int i = 0; i < units.Count; i++)
        {
            var last = lasts[i];
            string state = ResultOf(stateFolder, last) is true ? "DONE (result written)"
                : queue.TryGetValue(last.JobId, out var q) ? q.State.SlurmName()
                : accounting is not null && accounting.TryGetValue(last.JobId, out var a) ? a.State.SlurmName()
                : last.EndState ?? (ReadExit(ExitFileOf(last.Log)) is { } e ? (e == 0 ? "COMPLETED" : $"FAILED (exit code {e})") : "UNKNOWN (left the queue)");
            list.Add((units[i], last, state));
        }
        Debug.Assert(list.Count == units.Count);
        return list;
    }
}
