using System.Text.Json;
using System.Text.Json.Serialization;
using ModelSoups.Durability;
using ModelSoups.Sparse;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// A finished phase of <see cref="SparseSoup"/>: <c>OUT/phase-P/phase.json</c>, the phase's result file in the sense of
/// <see cref="UnitJournal"/>. Written atomically after every model of the phase is in place, so its presence means the
/// phase is complete; it carries the digest of the <see cref="UnitFingerprint"/> of everything that determined the
/// phase (the settings, the base's and the data's content, and the previous phase's fingerprint) and the phase's rows,
/// so a rerun reuses the phase without retraining or scoring it again.
/// </summary>
/// <param name="Fingerprint">The digest of the phase's fingerprint.</param>
/// <param name="Result">The phase as <c>results.json</c> lists it.</param>
public sealed record SparsePhaseRecord(
    [property: JsonPropertyName("fingerprint")] string Fingerprint,
    [property: JsonPropertyName("result")] SparsePhaseResult Result)
{
    /// <summary>The file's name inside the phase folder.</summary>
    public const string FileName = "phase.json";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The record in <paramref name="phaseFolder"/>, or null when the phase never finished there.</summary>
    /// <exception cref="ModelSoupsException">The file is not a valid record (naming it).</exception>
    public static SparsePhaseRecord? TryRead(string phaseFolder)
    {
        var path = Path.Combine(phaseFolder, FileName);
        if (!File.Exists(path)) return null;
        var record = JsonFile.Read<SparsePhaseRecord>(path, Json, FileName);
        if (record.Fingerprint is null || record.Result?.Rows is null)
            throw new ModelSoupsException($"{FileName} has no fingerprint or no result; delete the phase folder to make the phase again", path);
        return record;
    }

    /// <summary>Writes the record into <paramref name="phaseFolder"/> atomically (the phase's last write).</summary>
    public void Write(string phaseFolder) =>
        AtomicFile.WriteAllText(Path.Combine(phaseFolder, FileName), JsonSerializer.Serialize(this, Json));
}
