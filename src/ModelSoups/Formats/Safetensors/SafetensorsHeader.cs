using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;
using ModelSoups.Tensors;

namespace ModelSoups.Formats.Safetensors;

/// <summary>
/// The validated header of one safetensors file: its tensors (sorted by offset), its
/// <c>__metadata__</c>, and where the data section starts. Reading a header never maps or reads
/// tensor data, so planners can use it on large checkpoints.
/// </summary>
/// <remarks>
/// Rules follow huggingface/safetensors <c>tensor.rs</c> (<c>read_metadata</c>, <c>Metadata::validate</c>):
/// 8-byte little-endian header length N ≤ <see cref="MaxHeaderBytes"/>; N bytes of UTF-8 JSON
/// (JSON whitespace around the object is allowed, as serde_json allows it); entries sorted by
/// offset must tile the data section from 0 without gaps or overlaps, each exactly
/// element count × dtype size bytes, and the last must end exactly at the end of the file.
/// Stricter than the reference in two places, both documented in the errors they raise:
/// duplicate tensor names / metadata keys (serde keeps the last) and a byte-order mark.
/// </remarks>
public sealed class SafetensorsHeader
{
    /// <summary>Largest header accepted, as the reference's <c>MAX_HEADER_SIZE</c> (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Bytes of the little-endian u64 header length that starts every file.</summary>
    public const int LengthPrefixBytes = 8;

    /// <summary>
    /// Deepest JSON accepted. A valid header is 3 levels deep (object → entry → shape array);
    /// anything much deeper is hostile and must fail cleanly, not recurse.
    /// </summary>
    public const int MaxJsonDepth = 8;

    /// <summary>The reserved key holding string → string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    // dtype names the reference format defines that we refuse by name rather than as unknown.
    static readonly HashSet<string> KnownUnsupportedDTypes = new(StringComparer.Ordinal)
    {
        "U16", "U32", "U64", "F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "C64",
    };

    readonly Dictionary<string, SafetensorsEntry> _byName;

    /// <summary>The file this header was read from (used in messages).</summary>
    public string Path { get; }

    /// <summary>N: bytes of JSON header (including padding) after the 8-byte prefix.</summary>
    public long HeaderLength { get; }

    /// <summary>Offset in the file where tensor data begins: 8 + N.</summary>
    public long DataStart => LengthPrefixBytes + HeaderLength;

    /// <summary>Total length of the file the header was validated against.</summary>
    public long FileLength { get; }

    /// <summary>Tensors in file order (sorted by data offset).</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map; empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafetensorsHeader(string path, long headerLength, long fileLength, List<SafetensorsEntry> entries,
        Dictionary<string, SafetensorsEntry> byName, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        HeaderLength = headerLength;
        FileLength = fileLength;
        Entries = entries;
        _byName = byName;
        Metadata = metadata;
    }

    /// <summary>The entry for a tensor name, or null.</summary>
    public SafetensorsEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Reads and validates only the header of <paramref name="path"/>; no tensor data is read.</summary>
    /// <exception cref="SafetensorsFormatException">The file is missing, unreadable or malformed.</exception>
    public static SafetensorsHeader Read(string path)
    {
        using var handle = OpenRead(path);
        return Read(handle, path);
    }

    internal static SafeFileHandle OpenRead(string path)
    {
        if (Durability.Posix.Stat(path) is { IsRegularFile: false } st)
            throw new SafetensorsFormatException(SafetensorsErrorKind.NotARegularFile, $"this is {st.TypeName}, not a regular file; give a .safetensors file.", path);
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsFormatException(SafetensorsErrorKind.Unreadable,
                e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist." : $"cannot open the file ({e.Message}).",
                path, e);
        }
    }

    internal static SafetensorsHeader Read(SafeFileHandle handle, string path)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < LengthPrefixBytes)
            throw Error(SafetensorsErrorKind.FileTooShort, $"the file is {fileLength} bytes, shorter than the 8-byte header length; it is not a safetensors file.", path);
        Span<byte> prefix = stackalloc byte[LengthPrefixBytes];
        ReadExactly(handle, prefix, 0, path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        // Both checks come before any allocation: the length is only a claim until the file backs it.
        if (n > MaxHeaderBytes)
            throw Error(SafetensorsErrorKind.HeaderTooLarge, $"the header claims {n} bytes, more than the limit of {MaxHeaderBytes}; it is not a valid safetensors file.", path);
        if ((long)n > fileLength - LengthPrefixBytes)
            throw Error(SafetensorsErrorKind.HeaderBeyondFile, $"the header claims {n} bytes but the file has only {fileLength - LengthPrefixBytes} after the length prefix (truncated?).", path);
        var json = new byte[(int)n];
        ReadExactly(handle, json, LengthPrefixBytes, path);
        return Parse(json, fileLength, path);
    }

    static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        try
        {
            while (buffer.Length > 0)
            {
                int got = RandomAccess.Read(handle, buffer, offset);
                if (got == 0) throw Error(SafetensorsErrorKind.Unreadable, "the file ended while reading its header (changed while reading?).", path);
                buffer = buffer[got..];
                offset += got;
            }
        }
        catch (IOException e)
        {
            throw new SafetensorsFormatException(SafetensorsErrorKind.Unreadable, $"cannot read the file ({e.Message}).", path, e);
        }
    }

    /// <summary>
    /// Validates header JSON (the N bytes after the prefix) against a file of <paramref name="fileLength"/> bytes.
    /// </summary>
    internal static SafetensorsHeader Parse(ReadOnlyMemory<byte> json, long fileLength, string path)
    {
        var span = json.Span;
        if (!Utf8.IsValid(span))
            throw Error(SafetensorsErrorKind.InvalidUtf8, "the header is not valid UTF-8.", path);
        if (span.StartsWith("\uFEFF"u8))
            throw Error(SafetensorsErrorKind.InvalidJson, "the header starts with a byte-order mark, which JSON does not allow.", path);

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(SafetensorsErrorKind.InvalidJson,
                $"the header is not valid JSON or is nested deeper than {MaxJsonDepth} levels ({FirstSentence(e.Message)}).", path, e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Error(SafetensorsErrorKind.InvalidSchema, $"the header is a JSON {Describe(root.ValueKind)}, not an object of tensors.", path);

            var entries = new List<SafetensorsEntry>();
            var byName = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            IReadOnlyDictionary<string, string>? metadata = null;
            foreach (var prop in root.EnumerateObject())
            {
                string name = Text(prop, path);
                if (name == MetadataKey)
                {
                    if (metadata is not null)
                        throw Error(SafetensorsErrorKind.DuplicateName, $"the header has two \"{MetadataKey}\" entries.", path);
                    metadata = ParseMetadata(prop.Value, path);
                    continue;
                }
                if (byName.ContainsKey(name))
                    throw Error(SafetensorsErrorKind.DuplicateName, $"tensor '{name}' appears twice in the header.", path);
                var entry = ParseEntry(name, prop.Value, path);
                byName.Add(name, entry);
                entries.Add(entry);
            }

            // Sort by (begin, end) like the reference, then the entries must tile [0, data length).
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long headerLength = json.Length;
            long dataLength = fileLength - LengthPrefixBytes - headerLength;
            long expected = 0;
            foreach (var e in entries)
            {
                if (e.Begin != expected)
                {
                    string what = expected == 0 && e == entries[0]
                        ? $"starts at data offset {e.Begin}, but the first tensor must start at 0"
                        : e.Begin > expected
                            ? $"starts at data offset {e.Begin}, leaving a gap after the previous tensor ending at {expected}"
                            : $"starts at data offset {e.Begin}, overlapping the previous tensor ending at {expected}";
                    throw Error(SafetensorsErrorKind.InvalidOffsets, $"tensor '{e.Name}' {what}.", path);
                }
                expected = e.End;
            }
            if (expected > dataLength)
                throw Error(SafetensorsErrorKind.DataOutOfRange, $"the tensors need {expected} bytes of data but the file has only {dataLength} after the header (truncated?).", path);
            if (expected < dataLength)
                throw Error(SafetensorsErrorKind.TrailingBytes, $"the file has {dataLength - expected} bytes after the last tensor; the data section must end exactly at the last tensor.", path);

            return new SafetensorsHeader(path, headerLength, fileLength, entries, byName,
                metadata ?? new Dictionary<string, string>(StringComparer.Ordinal));
        }
    }

    static Dictionary<string, string>? ParseMetadata(JsonElement value, string path)
    {
        // serde maps `null` to None for Option<HashMap<..>>.
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object)
            throw Error(SafetensorsErrorKind.InvalidSchema, $"\"{MetadataKey}\" is a JSON {Describe(value.ValueKind)}, not an object of strings.", path);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw Error(SafetensorsErrorKind.InvalidSchema, $"\"{MetadataKey}\" key '{Text(p, path)}' has a JSON {Describe(p.Value.ValueKind)} value; metadata values must be strings.", path);
            string key = Text(p, path);
            if (!map.TryAdd(key, Text(p.Value, path)))
                throw Error(SafetensorsErrorKind.DuplicateName, $"\"{MetadataKey}\" has key '{key}' twice.", path);
        }
        return map;
    }

    static SafetensorsEntry ParseEntry(string name, JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Error(SafetensorsErrorKind.InvalidSchema, $"tensor '{name}' is a JSON {Describe(value.ValueKind)}, not an object with dtype, shape and data_offsets.", path);
        JsonElement? dtypeEl = null, shapeEl = null, offsetsEl = null;
        foreach (var field in value.EnumerateObject())
        {
            // Unknown fields are ignored, as serde does for TensorInfo; known ones may appear once.
            ref JsonElement? slot = ref dtypeEl;
            switch (Text(field, path))
            {
                case "dtype": slot = ref dtypeEl; break;
                case "shape": slot = ref shapeEl; break;
                case "data_offsets": slot = ref offsetsEl; break;
                default: continue;
            }
            if (slot is not null)
                throw Error(SafetensorsErrorKind.InvalidSchema, $"tensor '{name}' has field \"{Text(field, path)}\" twice.", path);
            slot = field.Value;
        }
        if (dtypeEl is null || shapeEl is null || offsetsEl is null)
        {
            string missing = dtypeEl is null ? "dtype" : shapeEl is null ? "shape" : "data_offsets";
            throw Error(SafetensorsErrorKind.InvalidSchema, $"tensor '{name}' has no \"{missing}\" field.", path);
        }

        if (dtypeEl.Value.ValueKind != JsonValueKind.String)
            throw Error(SafetensorsErrorKind.InvalidSchema, $"tensor '{name}' has a JSON {Describe(dtypeEl.Value.ValueKind)} as dtype, not a string.", path);
        string dtypeName = Text(dtypeEl.Value, path);
        if (!DTypes.TryParseSafetensorsName(dtypeName, out var dtype))
        {
            if (KnownUnsupportedDTypes.Contains(dtypeName))
                throw Error(SafetensorsErrorKind.UnsupportedDType, $"tensor '{name}' has dtype {dtypeName}; {dtypeName} is not supported.", path);
            throw Error(SafetensorsErrorKind.UnknownDType, $"tensor '{name}' has unknown dtype '{dtypeName}'.", path);
        }

        var shapeValue = shapeEl.Value;
        if (shapeValue.ValueKind != JsonValueKind.Array)
            throw Error(SafetensorsErrorKind.InvalidSchema, $"tensor '{name}' has a JSON {Describe(shapeValue.ValueKind)} as shape, not an array.", path);
        var shape = new long[shapeValue.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeValue.EnumerateArray())
        {
            if (!TryGetNonNegative(d, out shape[i]))
                throw Error(SafetensorsErrorKind.InvalidShape, $"tensor '{name}' has shape dimension {RawText(d)}; dimensions must be non-negative integers below 2^63.", path);
            i++;
        }

        var offsets = offsetsEl.Value;
        if (offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw Error(SafetensorsErrorKind.InvalidSchema, $"tensor '{name}' has data_offsets {RawText(offsets)}; expected [begin, end].", path);
        if (!TryGetNonNegative(offsets[0], out long begin) || !TryGetNonNegative(offsets[1], out long end))
            throw Error(SafetensorsErrorKind.InvalidOffsets, $"tensor '{name}' has data_offsets {RawText(offsets)}; offsets must be non-negative integers.", path);
        if (end < begin)
            throw Error(SafetensorsErrorKind.InvalidOffsets, $"tensor '{name}' has reversed data_offsets [{begin}, {end}].", path);

        // Overflow-checked left to right, as the reference's try_fold(checked_mul) in Metadata::validate
        // (so [2^40, 2^40, 0] overflows there too, before the 0 is reached).
        long bytes = 1;
        foreach (var dim in shape)
        {
            if (dim != 0 && bytes > long.MaxValue / dim)
                throw Error(SafetensorsErrorKind.Overflow, $"tensor '{name}' has shape [{string.Join(", ", shape)}], whose element count overflows 64 bits.", path);
            bytes *= dim;
        }
        if (bytes > long.MaxValue / dtype.Size())
            throw Error(SafetensorsErrorKind.Overflow, $"tensor '{name}' has shape [{string.Join(", ", shape)}], whose size in bytes overflows 64 bits.", path);
        bytes *= dtype.Size();
        if (end - begin != bytes)
            throw Error(SafetensorsErrorKind.SizeMismatch, $"tensor '{name}' ({dtypeName} [{string.Join(", ", shape)}]) needs {bytes} bytes but its data_offsets [{begin}, {end}] span {end - begin}.", path);

        return new SafetensorsEntry(new TensorInfo(name, dtype, shape), begin, end);
    }

    // System.Text.Json accepts an escaped lone surrogate ("\ud800") while parsing and throws
    // InvalidOperationException only when the string is read; serde_json rejects it as invalid JSON.
    static string Text(JsonProperty p, string path)
    {
        try { return p.Name; }
        catch (InvalidOperationException e) { throw LoneSurrogate(path, e); }
    }

    static string Text(JsonElement e, string path)
    {
        try { return e.GetString()!; }
        catch (InvalidOperationException x) { throw LoneSurrogate(path, x); }
    }

    static SafetensorsFormatException LoneSurrogate(string path, Exception inner) =>
        new(SafetensorsErrorKind.InvalidJson, "the header has a string with an escaped lone surrogate (invalid Unicode).", path, inner);

    static bool TryGetNonNegative(JsonElement e, out long value)
    {
        value = 0;
        if (e.ValueKind != JsonValueKind.Number) return false;
        // TryGetInt64 rejects fractions and exponents; a leading '-' (including "-0") is not a usize.
        return e.GetRawText()[0] != '-' && e.TryGetInt64(out value) && value >= 0;
    }

    static string RawText(JsonElement e)
    {
        string raw = e.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }

    static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    static string FirstSentence(string message)
    {
        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return (dot > 0 ? message[..dot] : message).TrimEnd('.');
    }

    static SafetensorsFormatException Error(SafetensorsErrorKind kind, string message, string path) => new(kind, message, path);
}
