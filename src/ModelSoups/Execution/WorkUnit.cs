using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Execution;

/// <summary>
/// One unit of expensive work (a fine-tuning run, an evaluation): an id, the arguments of the <c>soup</c>
/// subcommand that does it (run by the hidden worker, <c>soup __worker --unit FILE</c>), the working directory
/// those arguments are relative to, and the result file the work must produce atomically. The unit is done exactly
/// when its result file exists: every executor, and every rerun, decides by that file alone.
/// </summary>
public sealed record WorkUnit
{
    /// <summary>Longest id accepted (ids become file names and Slurm job names).</summary>
    public const int MaxIdLength = 120;

    /// <summary>A stable name, unique among the units of one output folder: letters, digits, '.', '_', '-', ',' only.</summary>
    public required string Id { get; init; }

    /// <summary>The <c>soup</c> subcommand and its arguments, e.g. <c>["finetune", "--model", …, "--only-run", "run-002"]</c>.</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>Absolute path of the file whose existence marks the unit finished.</summary>
    public required string ResultFile { get; init; }

    /// <summary>Absolute folder the arguments' relative paths are relative to (the client's current directory).</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>Called by an executor just before it starts or submits the unit (e.g. to copy a candidate where every node sees it).</summary>
    public Action? Prepare { get; init; }

    /// <summary>True when <see cref="ResultFile"/> exists.</summary>
    public bool IsDone => File.Exists(ResultFile);

    /// <summary>A short hash of the arguments: a job recorded for the same id with other arguments is not adopted.</summary>
    public string ArgumentsHash
    {
        get
        {
            var text = string.Join('\0', Arguments) + "\0" + WorkingDirectory + "\0" + ResultFile;
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
        }
    }

    /// <summary>Checks the fields; a user error (<see cref="ModelSoupsException"/>) names what is wrong.</summary>
    public void Validate(string? source = null)
    {
        if (string.IsNullOrEmpty(Id) || Id.Length > MaxIdLength || !Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ','))
            throw new ModelSoupsException($"the work unit id '{Tensors.PrintableName.Of(Id ?? "")}' is not 1 to {MaxIdLength} letters, digits, '.', '_', '-' or ','.", source);
        if (Id[0] == '.') throw new ModelSoupsException($"the work unit id '{Id}' starts with a dot.", source);
        if (Arguments.Count == 0) throw new ModelSoupsException($"work unit '{Id}' has no arguments.", source);
        if (!Path.IsPathFullyQualified(ResultFile)) throw new ModelSoupsException($"work unit '{Id}': the result file '{ResultFile}' is not an absolute path.", source);
        if (!Path.IsPathFullyQualified(WorkingDirectory)) throw new ModelSoupsException($"work unit '{Id}': the working directory '{WorkingDirectory}' is not an absolute path.", source);
    }

    /// <summary>The unit as the JSON the worker reads (<see cref="Read"/>).</summary>
    public string ToJson()
    {
        var args = new JsonArray();
        foreach (var a in Arguments) args.Add(a);
        return new JsonObject
        {
            ["format"] = Format,
            ["id"] = Id,
            ["arguments"] = args,
            ["result"] = ResultFile,
            ["cwd"] = WorkingDirectory,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The "format" member of a unit file.</summary>
    public const string Format = "modelsoups-work-unit-1";

    /// <summary>Writes the unit file atomically.</summary>
    public void Write(string path) => Durability.AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads and validates a unit file written by <see cref="Write"/>.</summary>
    /// <exception cref="ModelSoupsException">The file is missing, not JSON, or not a valid unit.</exception>
    public static WorkUnit Read(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new ModelSoupsException("the work unit file does not exist.", full);
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(File.ReadAllText(full), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                ?? throw new ModelSoupsException("the work unit file is not a JSON object.", full);
        }
        catch (JsonException e)
        {
            throw new ModelSoupsException($"the work unit file is not valid JSON ({e.Message}).", full, e);
        }
        if ((string?)obj["format"] != Format) throw new ModelSoupsException($"the file is not a work unit (format is not {Format}).", full);
        static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        var args = obj["arguments"] as JsonArray ?? throw new ModelSoupsException("the work unit has no arguments list.", full);
        var list = new List<string>();
        foreach (var a in args) list.Add(Text(a) ?? throw new ModelSoupsException("the work unit's arguments are not all strings.", full));
        var unit = new WorkUnit
        {
            Id = Text(obj["id"]) ?? throw new ModelSoupsException("the work unit has no id.", full),
            Arguments = list,
            ResultFile = Text(obj["result"]) ?? throw new ModelSoupsException("the work unit has no result file.", full),
            WorkingDirectory = Text(obj["cwd"]) ?? throw new ModelSoupsException("the work unit has no working directory.", full),
        };
        unit.Validate(full);
        return unit;
    }

    /// <summary>An id made from free text (a candidate's name): a readable prefix and a hash, so it is a file name and stable.</summary>
    public static string IdFor(string prefix, string text)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
        return $"{prefix}-{hash}";
    }
}
