using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ModelSoups.Checkpoints;

namespace ModelSoups.Soups;

/// <summary>
/// What a journal's cached evaluations depend on: the ingredients (names and file stamps, in order),
/// the evaluator's <see cref="Evaluation.IEvaluator.Description"/> and the settings (accept rule).
/// Files are stamped by size and last-write time, not hashed: hashing dozens of multi-GB ingredients
/// would re-read them on every rerun, while any rewrite of a file (a re-run fine-tune, a copy) changes
/// its stamp — the same quick check make and rsync use. In-memory ingredients (no files) are hashed
/// (SHA-256 over names, dtypes, shapes and bytes).
/// </summary>
public sealed class JournalFingerprint
{
    internal JsonObject Json { get; }

    private JournalFingerprint(JsonObject json) => Json = json;

    /// <summary>A fingerprint from parts already stamped.</summary>
    public static JournalFingerprint Create(string kind, IEnumerable<IngredientStamp> ingredients, string evaluator, string settings)
    {
        var list = new JsonArray();
        foreach (var s in ingredients)
            list.Add(new JsonObject { ["name"] = s.Name, ["stamp"] = s.Stamp.DeepClone() });
        return new JournalFingerprint(new JsonObject
        {
            ["kind"] = kind,
            ["ingredients"] = list,
            ["evaluator"] = evaluator,
            ["settings"] = settings,
        });
    }

    /// <summary>The fingerprint of a greedy soup over these ingredients with this evaluator and rule.</summary>
    public static JournalFingerprint ForGreedy(IEnumerable<IngredientStamp> ingredients, string evaluator, AcceptRule rule) =>
        Create("greedy", ingredients, evaluator, $"accept {rule}");

    internal static JournalFingerprint FromJson(JsonObject json) => new(json);

    /// <summary>Why <paramref name="other"/> differs from this (first difference), or null when they are the same.</summary>
    public string? Difference(JournalFingerprint other)
    {
        foreach (var field in new[] { "kind", "evaluator", "settings" })
        {
            var a = (string?)Json[field];
            var b = (string?)other.Json[field];
            if (a != b) return $"the {field} differs (journal: '{a}', now: '{b}')";
        }
        var ia = Json["ingredients"]?.AsArray() ?? [];
        var ib = other.Json["ingredients"]?.AsArray() ?? [];
        if (ia.Count != ib.Count) return $"the journal has {ia.Count} ingredients, the command {ib.Count}";
        for (int i = 0; i < ia.Count; i++)
        {
            var na = (string?)ia[i]?["name"];
            var nb = (string?)ib[i]?["name"];
            if (na != nb) return $"ingredient {i} differs (journal: '{na}', now: '{nb}')";
            if (!JsonNode.DeepEquals(ia[i]?["stamp"], ib[i]?["stamp"]))
                return $"ingredient {i} ('{na}') changed on disk since the journal was written";
        }
        return null;
    }
}

/// <summary>One ingredient's identity in a <see cref="JournalFingerprint"/>.</summary>
public sealed class IngredientStamp
{
    /// <summary>The ingredient's name.</summary>
    public string Name { get; }

    internal JsonNode Stamp { get; }

    private IngredientStamp(string name, JsonNode stamp)
    {
        Name = name;
        Stamp = stamp;
    }

    /// <summary>Stamps the weight files (absolute path, size, last-write time UTC) in the given order.</summary>
    public static IngredientStamp FromFiles(string name, IEnumerable<string> files)
    {
        var list = new JsonArray();
        foreach (var f in files)
        {
            var info = new FileInfo(f);
            if (!info.Exists) throw new ModelSoupsException("the ingredient file does not exist.", f);
            list.Add(new JsonObject
            {
                ["path"] = info.FullName,
                ["size"] = info.Length,
                ["mtime_utc_ticks"] = info.LastWriteTimeUtc.Ticks,
            });
        }
        return new IngredientStamp(name, new JsonObject { ["files"] = list });
    }

    /// <summary>Stamps a checkpoint: its files when it has any, else the SHA-256 of its tensors.</summary>
    public static IngredientStamp FromCheckpoint(string name, ICheckpoint checkpoint)
    {
        if (checkpoint.Files.Count > 0) return FromFiles(name, checkpoint.Files);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (tensorName, t) in checkpoint.Tensors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{tensorName}\0{t.DType}\0{t.Info.ShapeText}\0"));
            const int block = 1 << 24;
            for (long off = 0; off < t.ByteLength; off += block)
                sha.AppendData(t.GetBytes(off, (int)Math.Min(block, t.ByteLength - off)));
        }
        return new IngredientStamp(name, new JsonObject { ["sha256"] = Convert.ToHexStringLower(sha.GetHashAndReset()) });
    }

    /// <summary>A stamp the caller computed (any string that changes when the ingredient does).</summary>
    public static IngredientStamp FromText(string name, string stamp) => new(name, JsonValue.Create(stamp));
}
