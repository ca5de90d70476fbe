using System.Globalization;

namespace ModelSoups.Engine;

/// <summary>
/// Sizes as users type them: "5GB" (10^9, as Hugging Face's max_shard_size), "2GiB" (2^30),
/// "500MB", "64KiB", or a plain number of bytes.
/// </summary>
public static class ByteSize
{
    static readonly (string Suffix, long Factor)[] Units =
    [
        ("TIB", 1L << 40), ("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000),
        ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1),
    ];

    /// <summary>Parses a size; throws <see cref="ModelSoupsException"/> naming <paramref name="what"/> on bad input.</summary>
    public static long Parse(string text, string what)
    {
        var t = text.Trim().ToUpperInvariant().Replace("_", "");
        long factor = 1;
        foreach (var (suffix, f) in Units)
            if (t.EndsWith(suffix, StringComparison.Ordinal)) { factor = f; t = t[..^suffix.Length].Trim(); break; }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v <= 0 || v * factor > long.MaxValue)
            throw new ModelSoupsException($"{what}: '{text}' is not a size (examples: 500MB, 5GB, 2GiB)");
        return (long)Math.Round(v * factor);
    }

    /// <summary>Binary units for display, e.g. "1.50 GiB".</summary>
    public static string Format(long bytes)
    {
        string[] names = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int i = 0;
        while (Math.Abs(v) >= 1024 && i < names.Length - 1) { v /= 1024; i++; }
        return i == 0 ? $"{bytes} B" : v.ToString("0.00", CultureInfo.InvariantCulture) + " " + names[i];
    }
}
