using System.Globalization;

namespace ModelSoups.Execution.Slurm;

/// <summary>What <c>squeue</c> or <c>sacct</c> said about one job (an array task is its own job, <c>1234_5</c>).</summary>
/// <param name="JobId">The job id as printed: <c>1234</c> or <c>1234_5</c>.</param>
/// <param name="State">Its state.</param>
/// <param name="ExitCode">The exit code (sacct only; the part before ':'), when known.</param>
/// <param name="Reason">squeue's reason (e.g. <c>Resources</c>, <c>NonZeroExitCode</c>), when given.</param>
public sealed record SlurmJobInfo(string JobId, SlurmJobState State, int? ExitCode = null, string? Reason = null);

/// <summary>
/// Parses the two listings soup asks for, one job per line, fields separated by '|':
/// <c>squeue -h -r -t all --me -o '%i|%T|%r'</c> and <c>sacct -n -P -X -j IDS -o JobID,State,ExitCode</c>.
/// A pending array that is printed folded (<c>1234_[0-3,7%2]</c>) is expanded to one entry per task.
/// </summary>
public static class SlurmQueueParser
{
    /// <summary>squeue's format string matching <see cref="ParseSqueue"/>.</summary>
    public const string SqueueFormat = "%i|%T|%r";

    /// <summary>sacct's field list matching <see cref="ParseSacct"/>.</summary>
    public const string SacctFields = "JobID,State,ExitCode";

    /// <summary>Jobs by id from squeue output; lines that are not three fields are ignored.</summary>
    public static IReadOnlyDictionary<string, SlurmJobInfo> ParseSqueue(string text)
    {
        var jobs = new Dictionary<string, SlurmJobInfo>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('|');
            if (f.Length < 2) continue;
            var state = SlurmJobStates.Parse(f[1]);
            foreach (var id in ExpandIds(f[0]))
                jobs[id] = new SlurmJobInfo(id, state, null, f.Length > 2 && f[2] is not ("None" or "") ? f[2] : null);
        }
        return jobs;
    }

    /// <summary>Jobs by id from sacct output (job steps such as <c>1234.batch</c> are skipped).</summary>
    public static IReadOnlyDictionary<string, SlurmJobInfo> ParseSacct(string text)
    {
        var jobs = new Dictionary<string, SlurmJobInfo>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('|');
            if (f.Length < 3 || f[0].Contains('.', StringComparison.Ordinal)) continue;
            var state = SlurmJobStates.Parse(f[1]);
            int? exit = int.TryParse(f[2].Split(':')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c : null;
            foreach (var id in ExpandIds(f[0])) jobs[id] = new SlurmJobInfo(id, state, exit);
        }
        return jobs;
    }

    /// <summary><c>12</c> → 12; <c>12_3</c> → 12_3; <c>12_[0-2,5%2]</c> → 12_0, 12_1, 12_2, 12_5.</summary>
    public static IEnumerable<string> ExpandIds(string id)
    {
        int open = id.IndexOf("_[", StringComparison.Ordinal);
        if (open < 0 || !id.EndsWith(']'))
        {
            yield return id;
            yield break;
        }
        var job = id[..open];
        var inside = id[(open + 2)..^1];
        int pct = inside.IndexOf('%');
        if (pct >= 0) inside = inside[..pct];
        foreach (var part in inside.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length == 2 && int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out int a)
                && int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b >= a && b - a < 1_000_000)
                for (int i = a; i <= b; i++) yield return $"{job}_{i}";
            else if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int one))
                yield return $"{job}_{one}";
        }
    }
}
