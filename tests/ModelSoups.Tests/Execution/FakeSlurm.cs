using System.Globalization;
using ModelSoups.Execution;
using ModelSoups.Execution.Slurm;

namespace ModelSoups.Tests.Execution;

/// <summary>
/// A scheduler in memory behind <see cref="ISlurmCommands"/>: submissions are recorded; each look at the queue
/// moves PENDING tasks to RUNNING and RUNNING ones to the end <see cref="Ending"/> picks for them (by unit id and
/// attempt), writing the unit's result file when it completes. Jobs can be set by hand, or made to vanish.
/// </summary>
sealed class FakeSlurm : ISlurmCommands
{
    int _next = 100;
    public Dictionary<string, SlurmJobInfo> Jobs { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, WorkUnit> Units { get; } = new(StringComparer.Ordinal);
    public List<(string Script, int Tasks, string JobId)> Submissions { get; } = [];
    public List<string> Cancelled { get; } = [];
    public Dictionary<string, int> Attempts { get; } = new(StringComparer.Ordinal);
    /// <summary>How a running task ends: (unit id, attempt) → state (default COMPLETED).</summary>
    public Func<string, int, SlurmJobState> Ending { get; set; } = (_, _) => SlurmJobState.Completed;
    /// <summary>Called at every look at the queue (with its number), before anything moves.</summary>
    public Action<int>? OnPoll { get; set; }
    public bool Frozen { get; set; }
    int _polls;

    public string Submit(string script, string workingDirectory)
    {
        var folder = Path.GetDirectoryName(script)!;
        var array = File.ReadLines(script).First(l => l.StartsWith("#SBATCH --array=", StringComparison.Ordinal))["#SBATCH --array=".Length..];
        var range = array.Split('%')[0].Split('-');
        int tasks = range.Length == 1 ? 1 : int.Parse(range[1], CultureInfo.InvariantCulture) + 1;
        var job = (_next++).ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < tasks; i++)
        {
            var id = $"{job}_{i}";
            var unit = WorkUnit.Read(SlurmScript.UnitFile(folder, i));
            Units[id] = unit;
            Attempts[unit.Id] = Attempts.GetValueOrDefault(unit.Id) + 1;
            Jobs[id] = new SlurmJobInfo(id, SlurmJobState.Pending);
        }
        Submissions.Add((script, tasks, job));
        return job;
    }

    public IReadOnlyDictionary<string, SlurmJobInfo> Queue()
    {
        OnPoll?.Invoke(_polls++);
        if (!Frozen)
            foreach (var (id, info) in Jobs.ToList())
            {
                if (info.State == SlurmJobState.Pending) Jobs[id] = info with { State = SlurmJobState.Running };
                else if (info.State == SlurmJobState.Running && Units.TryGetValue(id, out var unit))
                {
                    var end = Ending(unit.Id, Attempts[unit.Id]);
                    if (end == SlurmJobState.Completed) WriteResult(unit);
                    Jobs[id] = info with { State = end };
                }
            }
        return new Dictionary<string, SlurmJobInfo>(Jobs);
    }

    public static void WriteResult(WorkUnit unit)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(unit.ResultFile)!);
        File.WriteAllText(unit.ResultFile, "{\"score\": 1}");
    }

    public IReadOnlyDictionary<string, SlurmJobInfo>? Accounting(IReadOnlyCollection<string> jobIds) => null;

    public void Cancel(IReadOnlyCollection<string> jobIds)
    {
        Cancelled.AddRange(jobIds);
        foreach (var id in Jobs.Keys.ToList())
            if (jobIds.Any(j => id == j || id.StartsWith(j + "_", StringComparison.Ordinal)))
                Jobs[id] = Jobs[id] with { State = SlurmJobState.Cancelled };
    }
}
