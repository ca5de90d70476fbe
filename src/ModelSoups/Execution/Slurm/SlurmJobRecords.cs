using System.Globalization;
using System.Text.Json.Nodes;
using ModelSoups.Durability;

namespace ModelSoups.Execution.Slurm;

/// <summary>
/// The Slurm jobs of one output folder, in <c>STATE/slurm/jobs.jsonl</c> (a <see cref="Journal"/>): for each
/// submission of a unit, <c>job:ID:N</c> → <c>{job, batch, args, log}</c> (written as soon as sbatch answers),
/// and when that attempt ended without its result, <c>end:ID:N</c> → <c>{state, exit}</c>. A rerun reads them
/// to adopt jobs still queued or running instead of submitting them again; whether a unit is done is decided
/// by its result file alone, never by these records.
/// </summary>
public sealed class SlurmJobRecords : IDisposable
{
    /// <summary>The file name inside <c>STATE/slurm</c>.</summary>
    public const string FileName = "jobs.jsonl";

    readonly Journal _journal;

    SlurmJobRecords(Journal journal) => _journal = journal;

    /// <summary>The journal file.</summary>
    public string Path => _journal.Path;

    /// <summary>The records file of <paramref name="stateFolder"/>.</summary>
    public static string PathIn(string stateFolder) => System.IO.Path.Combine(stateFolder, "slurm", FileName);

    /// <summary>Opens (or creates) the records of <paramref name="stateFolder"/>; held exclusively while open.</summary>
    public static SlurmJobRecords Open(string stateFolder) =>
        new(Journal.Open(PathIn(stateFolder), new JsonObject { ["executor"] = "slurm" }, Validate));

    /// <summary>
    /// Reads the records of <paramref name="stateFolder"/> without their lock, also while the command that submitted the
    /// jobs holds them (<c>soup status</c>; see <see cref="Journal.OpenReadOnly"/>); the records cannot be added to.
    /// </summary>
    public static SlurmJobRecords OpenReadOnly(string stateFolder) => new(Journal.OpenReadOnly(PathIn(stateFolder), Validate));

    static string? Validate(string key, JsonObject value)
    {
        var parts = key.Split(':');
        if (parts.Length != 3 || parts[0] is not ("job" or "end") || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            return $"unknown key '{Tensors.PrintableName.Of(key)}'";
        string[] fields = parts[0] == "job" ? ["job", "batch", "args", "log"] : ["state", "exit"];
        foreach (var (name, v) in value)
        {
            if (!fields.Contains(name)) return $"unknown field '{Tensors.PrintableName.Of(name)}'";
            if (name == "exit") { if (v is not null && !(v is JsonValue ev && ev.TryGetValue(out int _))) return "exit is not an integer"; }
            else if (v is not JsonValue sv || !sv.TryGetValue(out string? _)) return $"{name} is not a string";
        }
        if (parts[0] == "job" && (value["job"] is null || value["args"] is null)) return "a job record needs job and args";
        if (parts[0] == "end" && value["state"] is null) return "an end record needs a state";
        return null;
    }

    /// <summary>One submission of a unit.</summary>
    /// <param name="Number">1 for the first submission.</param>
    /// <param name="JobId">The array task's job id (<c>1234_5</c>).</param>
    /// <param name="Batch">The batch folder.</param>
    /// <param name="ArgumentsHash">The unit's <see cref="WorkUnit.ArgumentsHash"/> when submitted.</param>
    /// <param name="Log">Its stderr file.</param>
    /// <param name="EndState">How it ended without a result, when that was recorded.</param>
    /// <param name="ExitCode">Its exit code, when known.</param>
    public sealed record Attempt(int Number, string JobId, string Batch, string ArgumentsHash, string Log, string? EndState, int? ExitCode);

    /// <summary>Every attempt of <paramref name="unitId"/>, oldest first.</summary>
    public IReadOnlyList<Attempt> Attempts(string unitId)
    {
        var list = new List<Attempt>();
        for (int n = 1; _journal.TryGet($"job:{unitId}:{n}", out var job); n++)
        {
            _journal.TryGet($"end:{unitId}:{n}", out var end);
            list.Add(new Attempt(n, (string)job["job"]!, (string?)job["batch"] ?? "", (string)job["args"]!, (string?)job["log"] ?? "",
                end is null ? null : (string?)end["state"], end?["exit"] is JsonValue ev && ev.TryGetValue(out int x) ? x : null));
        }
        return list;
    }

    /// <summary>Every unit id with at least one attempt, in the order first recorded.</summary>
    public IReadOnlyList<string> Units() =>
        _journal.Entries.Keys.Where(k => k.StartsWith("job:", StringComparison.Ordinal) && k.EndsWith(":1", StringComparison.Ordinal))
            .Select(k => k[4..^2]).ToList();

    /// <summary>Records a submission (fsynced before returning).</summary>
    public void RecordSubmission(string unitId, int attempt, string jobId, string batch, string argumentsHash, string log) =>
        _journal.Append($"job:{unitId}:{attempt}", new JsonObject { ["job"] = jobId, ["batch"] = batch, ["args"] = argumentsHash, ["log"] = log });

    /// <summary>Records how an attempt ended without its result (once per attempt).</summary>
    public void RecordEnd(string unitId, int attempt, SlurmJobState state, int? exitCode)
    {
        var key = $"end:{unitId}:{attempt}";
        if (_journal.TryGet(key, out _)) return;
        _journal.Append(key, new JsonObject { ["state"] = state.SlurmName(), ["exit"] = exitCode });
    }

    /// <summary>Releases the file.</summary>
    public void Dispose() => _journal.Dispose();
}
