using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Evaluation;

namespace ModelSoups.Soups;

/// <summary>
/// A resumable record of evaluations: a JSON-lines file whose first line is the command's
/// <see cref="JournalFingerprint"/> and each further line one finished evaluation
/// (<c>{"key": …, "candidate": …, "score": …, "metrics": {…}}</c>), appended and fsynced as it finishes.
/// Reopening with the same fingerprint replays those evaluations; a different fingerprint is refused.
/// A last line cut short by a crash is ignored (and cut off the file). Logits are not journaled.
/// </summary>
public sealed class GreedyJournal : IEvaluationStore, IDisposable
{
    /// <summary>The journal's file name inside the work folder.</summary>
    public const string FileName = "journal.jsonl";

    private const string Format = "modelsoups-journal";
    private const int Version = 1;

    private readonly Dictionary<string, EvaluationResult> _entries = new(StringComparer.Ordinal);
    private readonly FileStream _stream;

    /// <summary>The journal file.</summary>
    public string Path { get; }

    /// <summary>Evaluations found in the file when it was opened.</summary>
    public int ReplayableCount { get; }

    private GreedyJournal(string path, FileStream stream, int replayable)
    {
        Path = path;
        _stream = stream;
        ReplayableCount = replayable;
    }

    /// <summary>
    /// Opens (or creates) the journal in <paramref name="workFolder"/>. Throws <see cref="ModelSoupsException"/>
    /// when an existing journal was written by a different command or is corrupt before its last line.
    /// </summary>
    public static GreedyJournal Open(string workFolder, JournalFingerprint fingerprint)
    {
        Directory.CreateDirectory(workFolder);
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(workFolder, FileName));
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var entries = new Dictionary<string, EvaluationResult>(StringComparer.Ordinal);
            long goodEnd = ReadExisting(stream, path, fingerprint, entries, out bool hasHeader);
            stream.SetLength(goodEnd);
            stream.Position = goodEnd;
            var journal = new GreedyJournal(path, stream, entries.Count);
            foreach (var (k, v) in entries) journal._entries[k] = v;
            if (!hasHeader)
            {
                var header = new JsonObject
                {
                    ["format"] = Format,
                    ["version"] = Version,
                    ["fingerprint"] = fingerprint.Json.DeepClone(),
                };
                journal.AppendLine(header.ToJsonString());
            }
            return journal;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads header and entries; returns the byte length of the intact prefix.</summary>
    private static long ReadExisting(FileStream stream, string path, JournalFingerprint fingerprint,
        Dictionary<string, EvaluationResult> entries, out bool hasHeader)
    {
        hasHeader = false;
        var bytes = new byte[stream.Length];
        stream.Position = 0;
        stream.ReadExactly(bytes);
        long pos = 0;
        int lineNumber = 0;
        while (pos < bytes.Length)
        {
            int nl = Array.IndexOf(bytes, (byte)'\n', (int)pos);
            bool complete = nl >= 0;
            int end = complete ? nl : bytes.Length;
            lineNumber++;
            var line = Encoding.UTF8.GetString(bytes, (int)pos, end - (int)pos);
            JsonObject? obj = TryParse(line);
            if (obj is null || !complete)
            {
                // A line without its newline, or that does not parse, is the write a crash cut short —
                // acceptable only at the very end of the file.
                if (!complete || end + 1 == bytes.Length) return pos;
                throw new ModelSoupsException($"the journal is corrupt at line {lineNumber} (not a JSON object); delete it to start over.", path);
            }
            if (!hasHeader)
            {
                if ((string?)obj["format"] != Format || obj["fingerprint"] is not JsonObject fp)
                    throw new ModelSoupsException("the file is not a ModelSoups journal; choose another work folder or delete it.", path);
                if ((int?)obj["version"] != Version)
                    throw new ModelSoupsException($"the journal has version {obj["version"]}, this build reads version {Version}; delete it to start over.", path);
                var diff = JournalFingerprint.FromJson(fp).Difference(fingerprint);
                if (diff is not null)
                    throw new ModelSoupsException($"journal from a different command: {diff}; use another work folder or delete the journal.", path);
                hasHeader = true;
            }
            else
            {
                var key = (string?)obj["key"];
                var score = obj["score"]?.GetValueKind() == JsonValueKind.Number ? (double)obj["score"]! : double.NaN;
                if (key is null || double.IsNaN(score))
                    throw new ModelSoupsException($"the journal is corrupt at line {lineNumber} (no key or score); delete it to start over.", path);
                var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
                if (obj["metrics"] is JsonObject m)
                    foreach (var (name, value) in m)
                        if (value?.GetValueKind() == JsonValueKind.Number) metrics[name] = (double)value;
                entries[key] = new EvaluationResult(score, metrics);
            }
            pos = end + 1;
        }
        return pos;
    }

    private static JsonObject? TryParse(string line)
    {
        try { return JsonNode.Parse(line) as JsonObject; }
        catch (JsonException) { return null; }
    }

    public bool TryGet(string key, out EvaluationResult result) => _entries.TryGetValue(key, out result!);

    public void Add(string key, EvaluationResult result)
    {
        var metrics = new JsonObject();
        foreach (var (name, value) in result.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal))
            if (double.IsFinite(value)) metrics[name] = value;
        var line = new JsonObject
        {
            ["key"] = key,
            ["score"] = result.Score,
            ["metrics"] = metrics,
            ["time_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        AppendLine(line.ToJsonString());
        _entries[key] = new EvaluationResult(result.Score, result.Metrics);
    }

    private void AppendLine(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json + "\n");
        _stream.Write(bytes);
        // fsync: an evaluation can take minutes; once it is recorded a crash must not lose it.
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();
}
