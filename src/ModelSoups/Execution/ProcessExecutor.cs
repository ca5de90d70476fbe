using System.Diagnostics;
using System.Globalization;

namespace ModelSoups.Execution;

/// <summary>
/// <c>--parallel N</c>: runs units as child <c>soup __worker</c> processes on this machine, at most N at a time.
/// Each unit's stdout and stderr go to <c>STATE/processes/BATCH/ID.out|.err</c>; the unit is done when the worker
/// exits 0 and its result file exists. Units whose result already exists are not run. Cancelling kills the
/// workers (and what they started) and throws <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class ProcessExecutor : IExecutor
{
    readonly WorkerCommand _worker;
    readonly int _parallel;

    /// <summary>Runs workers with <paramref name="worker"/>, <paramref name="parallel"/> at a time.</summary>
    public ProcessExecutor(WorkerCommand worker, int parallel)
    {
        ArgumentNullException.ThrowIfNull(worker);
        if (parallel < 1) throw new ModelSoupsException("--parallel must be at least 1.");
        _worker = worker;
        _parallel = parallel;
    }

    /// <inheritdoc/>
    public string Name => "processes";

    /// <inheritdoc/>
    public void CheckFolder(string folder) { }

    /// <inheritdoc/>
    public ExecutionReport Run(IReadOnlyList<WorkUnit> units, ExecutionBatch batch, Action<ExecutionProgress>? progress = null, CancellationToken cancel = default)
    {
        foreach (var u in units) u.Validate();
        var folder = Path.Combine(batch.StateFolder, "processes", batch.Name);
        Directory.CreateDirectory(folder);
        var outcomes = new UnitOutcome?[units.Count];
        var states = new UnitStatus[units.Count];
        for (int i = 0; i < units.Count; i++)
        {
            bool done = units[i].IsDone;
            states[i] = new UnitStatus(units[i].Id, done ? UnitState.Done : UnitState.Waiting, null, done);
            if (done) outcomes[i] = new UnitOutcome(units[i], UnitState.Done, Reused: true);
        }
        var gate = new object();
        void Report(string? note = null)
        {
            lock (gate) progress?.Invoke(new ExecutionProgress(batch.Name, states.ToArray(), note));
        }
        Report();
        var running = new List<(int Index, Process Process, string Log)>();
        int next = 0;
        try
        {
            while (true)
            {
                while (running.Count < _parallel && next < units.Count)
                {
                    int i = next++;
                    if (outcomes[i] is not null) continue;
                    cancel.ThrowIfCancellationRequested();
                    running.Add(Start(i));
                }
                if (running.Count == 0) break;
                // Wait for any worker to exit (or a cancel), then collect all that did.
                Task.WaitAny([.. running.Select(r => r.Process.WaitForExitAsync(CancellationToken.None))], cancel);
                foreach (var r in running.Where(r => r.Process.HasExited).ToList())
                {
                    running.Remove(r);
                    r.Process.WaitForExit();
                    int code = r.Process.ExitCode;
                    var unit = units[r.Index];
                    bool ok = code == 0 && unit.IsDone;
                    outcomes[r.Index] = ok
                        ? new UnitOutcome(unit, UnitState.Done, r.Process.Id.ToString(CultureInfo.InvariantCulture), r.Log, code)
                        : new UnitOutcome(unit, UnitState.Failed, r.Process.Id.ToString(CultureInfo.InvariantCulture), r.Log, code,
                            code == 0 ? "exited 0 without writing its result" : $"exit code {code}{LastLine(r.Log)}");
                    states[r.Index] = states[r.Index] with { State = ok ? UnitState.Done : UnitState.Failed };
                    r.Process.Dispose();
                    Report();
                }
            }
        }
        catch (OperationCanceledException)
        {
            foreach (var r in running)
            {
                try { r.Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                r.Process.WaitForExit();
                r.Process.Dispose();
            }
            Report($"stopped {running.Count} worker process(es)");
            throw;
        }
        return new ExecutionReport(outcomes.Select(o => o!).ToList());

        (int, Process, string) Start(int i)
        {
            var unit = units[i];
            unit.Prepare?.Invoke();
            var unitFile = Path.Combine(folder, unit.Id + ".unit.json");
            unit.Write(unitFile);
            var outLog = Path.Combine(folder, unit.Id + ".out");
            var errLog = Path.Combine(folder, unit.Id + ".err");
            var argv = _worker.For(unitFile);
            // The shell only redirects: the worker's output goes straight to the log files, never through this process.
            var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = unit.WorkingDirectory, RedirectStandardInput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec \"$@\" >" + Evaluation.ShellQuote.Quote(outLog) + " 2>" + Evaluation.ShellQuote.Quote(errLog));
            psi.ArgumentList.Add("soup-worker");
            foreach (var a in argv) psi.ArgumentList.Add(a);
            var p = Process.Start(psi) ?? throw new ModelSoupsException("could not start a worker process.", argv[0]);
            p.StandardInput.Close();
            states[i] = states[i] with { State = UnitState.Running, JobId = p.Id.ToString(CultureInfo.InvariantCulture) };
            Report();
            return (i, p, errLog);
        }
    }

    /// <summary>": LAST LINE" of a log (the worker's one-line error), or "".</summary>
    internal static string LastLine(string log)
    {
        try
        {
            var last = File.ReadLines(log).LastOrDefault(l => l.Trim().Length > 0);
            return last is null ? "" : ": " + Tensors.PrintableName.Of(last.Trim());
        }
        catch (IOException) { return ""; }
    }
}
