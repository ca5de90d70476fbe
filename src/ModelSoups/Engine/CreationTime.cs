using System.Globalization;

namespace ModelSoups.Engine;

/// <summary>
/// The "created" time outputs record. Following the reproducible-builds convention, <c>SOURCE_DATE_EPOCH</c>
/// (seconds since the Unix epoch) replaces the clock when set, and <c>--no-timestamp</c> leaves the field out,
/// so two runs of one recipe write byte-identical files.
/// </summary>
public static class CreationTime
{
    /// <summary>The environment variable of the reproducible-builds convention.</summary>
    public const string SourceDateEpoch = "SOURCE_DATE_EPOCH";

    /// <summary>The time to record, "yyyy-MM-ddTHH:mm:ssZ", or null when <paramref name="omit"/>.</summary>
    /// <exception cref="ModelSoupsException">SOURCE_DATE_EPOCH is set but is not a whole number of seconds.</exception>
    public static string? Text(bool omit)
    {
        if (omit) return null;
        return Now().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
    }

    /// <summary>SOURCE_DATE_EPOCH when set, else the clock (UTC).</summary>
    public static DateTime Now()
    {
        var epoch = Environment.GetEnvironmentVariable(SourceDateEpoch);
        if (string.IsNullOrEmpty(epoch)) return DateTime.UtcNow;
        if (!long.TryParse(epoch, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) || seconds > 253402300799)
            throw new ModelSoupsException($"{SourceDateEpoch}='{epoch}' is not a number of seconds since 1970-01-01; unset it or give e.g. 1700000000.");
        return DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
    }
}
