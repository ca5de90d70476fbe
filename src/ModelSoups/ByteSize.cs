using System.Globalization;

namespace ModelSoups;

/// <summary>
/// Sizes as users type them and as the CLI shows them. Parsing follows transformers' <c>max_shard_size</c>:
/// a byte count or a number with a unit, decimal units as powers of 10 (KB, MB, GB, TB: "5GB" = 5,000,000,000)
/// and binary units as powers of 2 (KiB, MiB, GiB, TiB: "2GiB" = 2^30 × 2).
/// </summary>
public static class ByteSize
{
    static readonly (string Unit, long Factor)[] Units =
    [
        ("TIB", 1L << 40), ("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1),
    ];

    /// <summary>Parses "5GB", "500MB", "2GiB", "1.5GB", "1000000" (fractions of a byte are dropped).</summary>
    /// <param name="text">The size as typed.</param>
    /// <param name="what">What the size is for (e.g. the option name), the start of the error message.</param>
    /// <param name="requireUnit">Refuse a bare number: for a memory budget "64" is far more likely to mean 64 GiB than 64 bytes.</param>
    /// <exception cref="ModelSoupsException">Not a size of at least one byte (or, with <paramref name="requireUnit"/>, no unit).</exception>
    public static long Parse(string text, string what, bool requireUnit = false)
    {
        string s = text.Trim();
        string upper = s.ToUpperInvariant();
        long factor = 1;
        bool unitGiven = false;
        foreach (var (unit, f) in Units)
        {
            if (upper.EndsWith(unit, StringComparison.Ordinal))
            {
                factor = f;
                s = s[..^unit.Length].Trim();
                unitGiven = true;
                break;
            }
        }
        if (requireUnit && !unitGiven && s.Length > 0)
            throw new ModelSoupsException($"{what}: '{text}' has no unit; write e.g. {text.Trim()}MiB or {text.Trim()}GiB (or {text.Trim()}B for bytes).");
        // decimal, not double: "1.1GB" is exactly 1,100,000,000 bytes.
        if (!decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number)
            || number <= 0 || number > (decimal)long.MaxValue / factor || decimal.Floor(number * factor) < 1)
            throw new ModelSoupsException($"{what}: '{text}' is not a size; write e.g. 5GB, 500MB or 2GiB.");
        return (long)decimal.Floor(number * factor);
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
