using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Durability;

/// <summary>
/// Everything that determines a unit of work's result (a fine-tuning run: its hyperparameters, the digest of its
/// starting checkpoint, the digest of its training data, …), as named settings, and their digest. Two units with the
/// same digest produce the same result, so a finished one may be reused; a different digest means it may not.
/// </summary>
public sealed class UnitFingerprint
{
    readonly SortedDictionary<string, string> _settings;

    /// <summary>The settings, by name (sorted, ordinal).</summary>
    public IReadOnlyDictionary<string, string> Settings => _settings;

    /// <summary>SHA-256 (hex, 32 digits) of the settings in canonical form: what result files and journal entries carry.</summary>
    public string Digest { get; }

    /// <summary>A fingerprint of <paramref name="settings"/> (names must be distinct).</summary>
    public UnitFingerprint(IEnumerable<KeyValuePair<string, string>> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in settings) _settings.Add(name, value ?? throw new ArgumentException($"setting '{name}' has no value", nameof(settings)));
        Digest = DigestOf(ToJson());
    }

    /// <summary>The settings as a JSON object (for a journal entry).</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject();
        foreach (var (k, v) in _settings) o[k] = v;
        return o;
    }

    /// <summary>The fingerprint stored by <see cref="ToJson"/>; null when <paramref name="json"/> is not an object of strings.</summary>
    public static UnitFingerprint? FromJson(JsonNode? json)
    {
        if (json is not JsonObject o) return null;
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (k, v) in o)
        {
            if (v is not JsonValue sv || !sv.TryGetValue(out string? s)) return null;
            list.Add(KeyValuePair.Create(k, s));
        }
        return new UnitFingerprint(list);
    }

    /// <summary>The settings that differ from <paramref name="now"/>, as <c>name: old → new</c> (empty when none).</summary>
    public string DifferenceFrom(UnitFingerprint now)
    {
        ArgumentNullException.ThrowIfNull(now);
        var parts = new List<string>();
        foreach (var name in _settings.Keys.Union(now._settings.Keys).Order(StringComparer.Ordinal))
        {
            var old = _settings.GetValueOrDefault(name);
            var current = now._settings.GetValueOrDefault(name);
            if (old != current) parts.Add($"{name}: {old ?? "(none)"} → {current ?? "(none)"}");
        }
        return string.Join("; ", parts);
    }

    /// <summary>SHA-256 (hex, 32 digits) of <paramref name="bytes"/>; for content identities inside settings (data, a start checkpoint).</summary>
    public static string DigestOf(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..32];

    /// <summary>
    /// SHA-256 (hex, 32 digits) of the file <paramref name="path"/>, or of every file in the folder <paramref name="path"/>
    /// (names and contents, in ordinal name order, hidden files skipped): the identity of a checkpoint such as a sweep's
    /// common start or the model it starts from.
    /// </summary>
    public static string DigestOfContent(string path)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList()
            : [path];
        var buffer = new byte[1 << 20];
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\0"));
            using var stream = File.OpenRead(file);
            hash.AppendData(BitConverter.GetBytes(stream.Length));
            int n;
            while ((n = stream.Read(buffer)) > 0) hash.AppendData(buffer.AsSpan(0, n));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..32];
    }

    static string DigestOf(JsonObject json) => DigestOf(Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = false })));
}
