using System.Globalization;

namespace ModelSoups.Formats.HuggingFace;

/// <summary>
/// Parses a maximum shard size as transformers' <c>max_shard_size</c> does: a byte count or a
/// number with a unit, decimal units as powers of 10 (KB, MB, GB, TB) and binary units as powers
/// of 2 (KiB, MiB, GiB, TiB). Default "5GB" = 5,000,000,000 bytes.
/// </summary>
public static class ShardSize
{
    /// <summary>transformers' default <c>max_shard_size</c>: 5GB.</summary>
    public const long Default = 5_000_000_000;

    static readonly (string Unit, long Factor)[] Units =
    [
        ("TIB", 1L << 40), ("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1),
    ];

    /// <summary>Parses "5GB", "500MB", "2GiB", "1.5GB", "1000000".</summary>
    /// <exception cref="ModelSoupsException">Not a positive size.</exception>
    public static long Parse(string text)
    {
        string s = text.Trim();
        string upper = s.ToUpperInvariant();
        long factor = 1;
        foreach (var (unit, f) in Units)
        {
            if (upper.EndsWith(unit, StringComparison.Ordinal))
            {
                factor = f;
                s = s[..^unit.Length].Trim();
                break;
            }
        }
        if (!decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number) || number <= 0)
            throw new ModelSoupsException($"'{text}' is not a shard size; write e.g. 5GB, 500MB or 2GiB.");
        decimal bytes = decimal.Floor(number * factor);
        if (bytes < 1 || bytes > long.MaxValue)
            throw new ModelSoupsException($"'{text}' is not a usable shard size.");
        return (long)bytes;
    }
}
