using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Durability;

/// <summary>
/// The one resumable log of finished work (evaluations, fine-tunes): a JSON-lines file whose first line names
/// the format and the work's fingerprint and each further line one finished unit, <c>{"key": …, "value": {…}}</c>,
/// appended and fsynced as it finishes. Every line ends with a CRC-32 of the rest of it, and every value is
/// checked on read by the owner's validator, so nothing is trusted that a crash, a full disk or a hand edit
/// damaged. Reopening with the same fingerprint replays the entries; a different fingerprint is refused.
/// <list type="bullet">
/// <item>A last line that was cut short (no newline, or a bad checksum on the very last line) is the write a
/// crash interrupted: it is dropped (and cut off the file), with a note.</item>
/// <item>Any other bad line — a checksum mismatch, invalid JSON, a duplicate property, a value the validator
/// rejects, a key already recorded — stops the open with a message naming the line.</item>
/// <item>The file is read as a stream, line by line (lines are at most <see cref="MaxLineBytes"/>), so a file of any
/// size opens in constant memory.</item>
/// <item>The file is held with an exclusive lock while open: two runs never interleave their lines.</item>
/// <item><see cref="OpenReadOnly"/> reads it without the lock (for <c>soup status</c> while a run holds it): every
/// line is complete and checksummed when it is appended, so a reader takes the complete lines and ignores a last line
/// the writer is still appending.</item>
/// </list>
/// </summary>
public sealed class Journal : IDisposable
{
    /// <summary>The "format" of the header line.</summary>
    public const string Format = "modelsoups-journal";

    /// <summary>The version this build reads and writes (2: per-line CRC-32).</summary>
    public const int Version = 2;

    /// <summary>Longest line accepted.</summary>
    public const int MaxLineBytes = 1 << 20;

    const string CrcMember = ",\"crc32\":\"";
    const int CrcSuffixLength = 10 + 8 + 2;   // ,"crc32":"  XXXXXXXX  "}

    static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    readonly FileStream? _stream;
    readonly Dictionary<string, JsonObject> _entries = new(StringComparer.Ordinal);
    readonly List<string> _notes = [];

    /// <summary>The journal file.</summary>
    public string Path { get; }

    /// <summary>Entries found in the file when it was opened.</summary>
    public int ReplayableCount { get; }

    /// <summary>What was repaired when opening (a cut-short last line dropped).</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>Every entry, replayed and appended, by key.</summary>
    public IReadOnlyDictionary<string, JsonObject> Entries => _entries;

    /// <summary>True for a journal opened by <see cref="OpenReadOnly"/>: <see cref="Append"/> is refused.</summary>
    public bool IsReadOnly => _stream is null;

    Journal(string path, FileStream? stream, int replayable)
    {
        Path = path;
        _stream = stream;
        ReplayableCount = replayable;
    }

    /// <summary>
    /// Opens (or creates) the journal at <paramref name="path"/> for work described by <paramref name="fingerprint"/>.
    /// </summary>
    /// <param name="path">The journal file.</param>
    /// <param name="fingerprint">What the entries depend on; an existing journal with another fingerprint is refused.</param>
    /// <param name="validate">Given a key and its value, why the entry is invalid, or null when it is fine.</param>
    /// <param name="explainDifference">Given the journal's fingerprint, why it differs from <paramref name="fingerprint"/> (null: same);
    /// by default a deep comparison.</param>
    /// <exception cref="ModelSoupsException">The path is not a regular file, the journal is locked, written by other work, or corrupt.</exception>
    public static Journal Open(string path, JsonObject fingerprint, Func<string, JsonObject, string?> validate, Func<JsonObject, string?>? explainDifference = null)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(validate);
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        if (Directory.Exists(full)) throw new ModelSoupsException("the journal path is a folder, not a file; remove it or choose another work folder.", full);
        if (Posix.Stat(full) is { IsRegularFile: false } st)
            throw new ModelSoupsException($"the journal path is {st.TypeName}, not a regular file; remove it or choose another work folder.", full);
        FileStream stream;
        try
        {
            // FileShare.None: an exclusive flock on Unix, so a second run cannot interleave lines with this one.
            stream = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        }
        catch (IOException) when (File.Exists(full))
        {
            var pid = OutputLock.HolderPid(full);
            throw new ModelSoupsException($"{InUseMessage} soup process{(pid is { } p ? $" (pid {p})" : "")}; wait for it to finish or stop it.", full);
        }
        try
        {
            var entries = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
            var notes = new List<string>();
            long goodEnd = Read(stream, full, fingerprint, validate, explainDifference, entries, notes, out bool hasHeader);
            if (goodEnd != stream.Length) stream.SetLength(goodEnd);
            stream.Position = goodEnd;
            var journal = new Journal(full, stream, entries.Count);
            foreach (var (k, v) in entries) journal._entries[k] = v;
            journal._notes.AddRange(notes);
            if (!hasHeader)
                journal.AppendLine(new JsonObject { ["format"] = Format, ["version"] = Version, ["fingerprint"] = fingerprint.DeepClone() });
            return journal;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the journal of a cache: like <see cref="Open"/>, but a journal written for other work (another fingerprint)
    /// or one that is damaged is set aside as <c>PATH.discarded</c> and a new one started, so the work is simply done
    /// again. Only a journal held by another process still fails.
    /// </summary>
    /// <param name="path">The journal file.</param>
    /// <param name="fingerprint">What the entries depend on.</param>
    /// <param name="validate">Given a key and its value, why the entry is invalid, or null when it is fine.</param>
    /// <param name="discarded">True when an existing journal was set aside.</param>
    public static Journal OpenOrReplace(string path, JsonObject fingerprint, Func<string, JsonObject, string?> validate, out bool discarded)
    {
        discarded = false;
        try
        {
            return Open(path, fingerprint, validate);
        }
        catch (ModelSoupsException e) when (File.Exists(path) && !e.Message.Contains(InUseMessage, StringComparison.Ordinal))
        {
            File.Move(path, path + ".discarded", overwrite: true);
            discarded = true;
            return Open(path, fingerprint, validate);
        }
    }

    const string InUseMessage = "the journal is in use by another";

    /// <summary>
    /// Reads the journal at <paramref name="path"/> without taking its lock, so it works while a run holds it open and
    /// appends: the entries of every complete line are returned; a last line still being written (or cut short by a
    /// crash) is left out with a note and the file is not changed. The header's fingerprint is not compared with
    /// anything (the reader only reports); every entry is still checked by <paramref name="validate"/>.
    /// </summary>
    /// <param name="path">The journal file (it must exist).</param>
    /// <param name="validate">Given a key and its value, why the entry is invalid, or null when it is fine.</param>
    /// <exception cref="ModelSoupsException">The file is missing, not a regular file, not a journal, or corrupt before its last line.</exception>
    public static Journal OpenReadOnly(string path, Func<string, JsonObject, string?> validate)
    {
        ArgumentNullException.ThrowIfNull(validate);
        var full = System.IO.Path.GetFullPath(path);
        if (Posix.Stat(full) is not { } st) throw new ModelSoupsException("the journal does not exist.", full);
        if (!st.IsRegularFile) throw new ModelSoupsException($"the journal path is {st.TypeName}, not a regular file.", full);
        // Opened by open(2) directly: .NET's FileStream would ask for a shared flock, which the writer's exclusive one refuses.
        using var stream = new FileStream(Posix.OpenReadOnlyUnlocked(full), FileAccess.Read, 1 << 16);
        var entries = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var notes = new List<string>();
        Read(stream, full, new JsonObject(), validate, _ => null, entries, notes, out _);
        var journal = new Journal(full, null, entries.Count);
        foreach (var (k, v) in entries) journal._entries[k] = v;
        journal._notes.AddRange(notes);
        return journal;
    }

    /// <summary>Reads header and entries; returns the byte length of the intact prefix.</summary>
    static long Read(FileStream stream, string path, JsonObject fingerprint, Func<string, JsonObject, string?> validate,
        Func<JsonObject, string?>? explainDifference, Dictionary<string, JsonObject> entries, List<string> notes, out bool hasHeader)
    {
        hasHeader = false;
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        stream.Position = 0;
        long length = stream.Length;
        var reader = new LineReader(stream);
        long start = 0;
        int lineNumber = 0;
        while (reader.Next(out var line, out bool complete, out bool overlong))
        {
            lineNumber++;
            long end = reader.Position;
            bool last = end >= length;
            string? problem = overlong ? $"longer than {MaxLineBytes:N0} bytes" : null;
            JsonObject? obj = null;
            if (problem is null && !complete) problem = "cut short";
            if (problem is null) obj = Verify(line, out problem);
            if (obj is null && complete && !overlong && problem == "no checksum" && ParsesAsObject(line))
            {
                // Whole JSON without our checksum: not a line we wrote (another file, or a hand edit).
                if (lineNumber == 1) throw new ModelSoupsException("the file is not a ModelSoups journal; choose another work folder or delete it.", path);
                throw Corrupt(path, lineNumber, "no checksum: the line was not written by soup");
            }
            if (obj is null)
            {
                // The write a crash interrupted can only be the last line.
                if (last)
                {
                    notes.Add($"dropped line {lineNumber} of the journal ({problem}): the write a crash interrupted.");
                    return start;
                }
                throw Corrupt(path, lineNumber, problem!);
            }
            if (!hasHeader)
            {
                if ((string?)obj["format"] != Format || obj["fingerprint"] is not JsonObject fp)
                    throw new ModelSoupsException("the file is not a ModelSoups journal; choose another work folder or delete it.", path);
                if (obj["version"] is not JsonValue v || !v.TryGetValue(out int version) || version != Version)
                    throw new ModelSoupsException($"the journal has version {obj["version"]?.ToJsonString() ?? "none"}, this build reads version {Version}; delete it to start over.", path);
                var diff = explainDifference is not null ? explainDifference(fp) : JsonNode.DeepEquals(fp, fingerprint) ? null : "the fingerprint differs";
                if (diff is not null)
                    throw new ModelSoupsException($"journal from a different command: {diff}; use another work folder or delete the journal.", path);
                hasHeader = true;
            }
            else
            {
                if (obj.Count != 2 || obj["key"] is not JsonValue kv || !kv.TryGetValue(out string? key) || obj["value"] is not JsonObject value)
                    throw Corrupt(path, lineNumber, "not a {\"key\": …, \"value\": {…}} entry");
                if (firstLine.TryGetValue(key, out int earlier))
                    throw Corrupt(path, lineNumber, $"key '{Tensors.PrintableName.Of(key)}' was already recorded at line {earlier}");
                if (validate(key, value) is { } why) throw Corrupt(path, lineNumber, why);
                firstLine[key] = lineNumber;
                entries[key] = value;
            }
            start = end;
        }
        return start;
    }

    static ModelSoupsException Corrupt(string path, int line, string problem) =>
        new($"the journal is corrupt at line {line} ({problem}); delete the journal (or that line) to start over.", path);

    /// <summary>Checks a line's checksum and parses it strictly; null with the reason when it is bad.</summary>
    static JsonObject? Verify(byte[] line, out string? problem)
    {
        problem = null;
        if (line.Length < CrcSuffixLength + 2 || line[^1] != (byte)'}' || line[^2] != (byte)'"'
            || !line.AsSpan(line.Length - CrcSuffixLength, 10).SequenceEqual(Encoding.ASCII.GetBytes(CrcMember)))
        {
            problem = "no checksum";
            return null;
        }
        var hex = Encoding.ASCII.GetString(line, line.Length - 10, 8);
        var body = new byte[line.Length - CrcSuffixLength + 1];
        line.AsSpan(0, body.Length - 1).CopyTo(body);
        body[^1] = (byte)'}';
        if (!uint.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint crc) || crc != Crc32.Compute(body))
        {
            problem = "checksum mismatch: the line was changed or only partly written";
            return null;
        }
        try
        {
            if (JsonNode.Parse(body, documentOptions: Strict) is JsonObject o) return o;
            problem = "not a JSON object";
        }
        catch (JsonException e)
        {
            problem = e.Message.Contains("duplicate", StringComparison.OrdinalIgnoreCase) ? "a property appears twice" : "not valid JSON";
        }
        return null;
    }

    static bool ParsesAsObject(byte[] line)
    {
        try { return JsonNode.Parse(line) is JsonObject; }
        catch (JsonException) { return false; }
    }

    /// <summary>The value recorded for <paramref name="key"/>.</summary>
    public bool TryGet(string key, out JsonObject value) => _entries.TryGetValue(key, out value!);

    /// <summary>Appends and fsyncs one entry; a key may be recorded once.</summary>
    public void Append(string key, JsonObject value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_stream is null) throw new InvalidOperationException($"the journal {Path} was opened read-only.");
        if (_entries.ContainsKey(key)) throw new InvalidOperationException($"journal key '{key}' is already recorded.");
        AppendLine(new JsonObject { ["key"] = key, ["value"] = value.DeepClone() });
        _entries[key] = value;
    }

    void AppendLine(JsonObject obj)
    {
        var body = Encoding.UTF8.GetBytes(obj.ToJsonString());
        if (body.Length + CrcSuffixLength > MaxLineBytes) throw new InvalidOperationException($"a journal line of {body.Length:N0} bytes exceeds {MaxLineBytes:N0}.");
        uint crc = Crc32.Compute(body);
        var line = new byte[body.Length - 1 + CrcSuffixLength + 1];
        body.AsSpan(0, body.Length - 1).CopyTo(line);
        Encoding.ASCII.GetBytes($"{CrcMember}{crc:x8}\"}}\n").CopyTo(line, body.Length - 1);
        try
        {
            _stream!.Write(line);
            // fsync: the unit of work can take minutes; once it is recorded a crash must not lose it.
            _stream.Flush(flushToDisk: true);
        }
        catch (IOException e) when (EnvironmentFaultException.IsDiskFull(e))
        {
            throw new EnvironmentFaultException("no space left on the device to record a finished evaluation in the journal; free space and rerun (finished work is kept).", Path, e);
        }
    }

    /// <summary>Closes the file (and releases its lock).</summary>
    public void Dispose() => _stream?.Dispose();

    /// <summary>Reads lines of at most <see cref="MaxLineBytes"/> from a stream, without loading the file.</summary>
    sealed class LineReader(Stream stream)
    {
        readonly byte[] _buffer = new byte[1 << 16];
        int _pos, _len;
        bool _eof;

        /// <summary>Byte offset just after the last line returned.</summary>
        public long Position { get; private set; }

        public bool Next(out byte[] line, out bool complete, out bool overlong)
        {
            var acc = new MemoryStream();
            overlong = false;
            complete = false;
            bool any = false;
            while (true)
            {
                if (_pos == _len)
                {
                    if (_eof) break;
                    _len = stream.Read(_buffer, 0, _buffer.Length);
                    _pos = 0;
                    if (_len == 0) { _eof = true; break; }
                }
                any = true;
                int nl = Array.IndexOf(_buffer, (byte)'\n', _pos, _len - _pos);
                int take = (nl >= 0 ? nl : _len) - _pos;
                if (!overlong && acc.Length + take <= MaxLineBytes) acc.Write(_buffer, _pos, take);
                else overlong = true;
                Position += take;
                _pos += take;
                if (nl >= 0)
                {
                    _pos++;
                    Position++;
                    complete = true;
                    break;
                }
            }
            line = overlong ? [] : acc.ToArray();
            return any;
        }
    }
}
