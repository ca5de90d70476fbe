using System.Globalization;
using System.Text.Json.Nodes;

namespace ModelSoups.Durability;

/// <summary>
/// The finished units of a resumable command (the runs of a fine-tuning sweep), in a <see cref="Journal"/>
/// (<c>OUT/work/units.jsonl</c>): <c>done:UNIT:N</c> → the <see cref="UnitFingerprint"/> the unit's result was made
/// with, appended and fsynced after the unit's outputs are in place (N counts the times the unit was finished, so a
/// unit whose result was deleted and made again is recorded again).
/// <para>The rule (<see cref="Decide"/>): a unit is finished when its result file — written last and atomically, after
/// everything else the unit makes — carries the fingerprint of the current settings; the client then records it here
/// if it has not yet. The result file is the hand-over between whoever ran the unit and the client: a cluster job on
/// another node cannot take this journal's lock, so workers never touch it, and executors decide "done" by that file
/// alone. The journal is the client's fsynced record of what each unit was made with, so a result made with other
/// settings is refused naming the settings that changed — never silently reused, never overwritten.</para>
/// </summary>
public sealed class UnitJournal : IDisposable
{
    /// <summary>The journal's file name inside a command's work folder.</summary>
    public const string FileName = "units.jsonl";

    readonly Journal _journal;

    UnitJournal(Journal journal) => _journal = journal;

    /// <summary>The journal file.</summary>
    public string Path => _journal.Path;

    /// <summary>What was repaired when opening (a torn last line dropped).</summary>
    public IReadOnlyList<string> Notes => _journal.Notes;

    /// <summary>Opens (or creates) the journal at <paramref name="path"/> for a command of <paramref name="kind"/> (e.g. <c>finetune</c>); held exclusively while open.</summary>
    /// <exception cref="ModelSoupsException">The journal is held by another process, belongs to another kind of command, or is corrupt (naming the line).</exception>
    public static UnitJournal Open(string path, string kind) =>
        new(Journal.Open(path, new JsonObject { ["kind"] = kind, ["units"] = "finished" }, Validate));

    /// <summary>Reads the journal without its lock, also while the command runs (see <see cref="Journal.OpenReadOnly"/>).</summary>
    public static UnitJournal OpenReadOnly(string path) => new(Journal.OpenReadOnly(path, Validate));

    static string? Validate(string key, JsonObject value)
    {
        // done:UNIT:N, where UNIT may itself contain ':' (N is after the last one).
        int last = key.LastIndexOf(':');
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || last <= Prefix.Length
            || !int.TryParse(key.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            return $"unknown key '{Tensors.PrintableName.Of(key)}'";
        if (value.Count != 2 || value["digest"] is not JsonValue dv || !dv.TryGetValue(out string? digest)
            || UnitFingerprint.FromJson(value["settings"]) is not { } fp)
            return "not a {\"digest\": …, \"settings\": {…}} entry";
        if (fp.Digest != digest) return "the digest does not match the settings";
        return null;
    }

    /// <summary>The fingerprint <paramref name="unit"/> was last recorded with, or null when it never finished.</summary>
    public UnitFingerprint? Recorded(string unit)
    {
        UnitFingerprint? last = null;
        for (int n = 1; _journal.TryGet(Key(unit, n), out var value); n++) last = UnitFingerprint.FromJson(value["settings"]);
        return last;
    }

    /// <summary>Every unit recorded at least once, in the order first recorded.</summary>
    public IReadOnlyList<string> Units() =>
        _journal.Entries.Keys.Where(k => k.EndsWith(":1", StringComparison.Ordinal)).Select(k => k[Prefix.Length..^2]).ToList();

    /// <summary>Records that <paramref name="unit"/> finished with <paramref name="fingerprint"/> (fsynced before returning).</summary>
    public void Record(string unit, UnitFingerprint fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        int n = 1;
        while (_journal.TryGet(Key(unit, n), out _)) n++;
        _journal.Append(Key(unit, n), new JsonObject { ["digest"] = fingerprint.Digest, ["settings"] = fingerprint.ToJson() });
    }

    /// <summary>
    /// Whether <paramref name="unit"/> is finished for <paramref name="fingerprint"/>, given the fingerprint digest its
    /// result file carries (<paramref name="resultDigest"/>; null when there is no result file). True when it matches,
    /// and the unit is then recorded here if it was not yet (a worker's result, or a run killed between writing its
    /// result and recording it). False when there is no result (never finished, killed before its result was written,
    /// or its result removed to make it again): the unit is to be made, and recorded when it is.
    /// </summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="fingerprint">What the unit would be made with now.</param>
    /// <param name="resultDigest">The digest its result file carries, or null without a result file.</param>
    /// <param name="location">The unit's output, for the message.</param>
    /// <exception cref="ModelSoupsException">The result was made with other settings (naming the ones that changed when this journal recorded them).</exception>
    public bool Decide(string unit, UnitFingerprint fingerprint, string? resultDigest, string location)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        if (resultDigest is null) return false;
        var recorded = Recorded(unit);
        if (resultDigest != fingerprint.Digest)
        {
            var changed = recorded is not null && recorded.Digest == resultDigest ? $" ({recorded.DifferenceFrom(fingerprint)})" : "";
            throw new ModelSoupsException($"this run was made with other settings{changed}; use another output folder, or delete this folder to make it again with the new settings", location);
        }
        if (recorded?.Digest != fingerprint.Digest) Record(unit, fingerprint);
        return true;
    }

    const string Prefix = "done:";

    static string Key(string unit, int n) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{unit}:{n}");

    /// <summary>Releases the file.</summary>
    public void Dispose() => _journal.Dispose();
}
