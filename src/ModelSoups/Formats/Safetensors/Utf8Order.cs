using System.Text;

namespace ModelSoups.Formats.Safetensors;

/// <summary>
/// Orders strings by their UTF-8 bytes (= Unicode code point order), as Rust's <c>str::cmp</c> and
/// Python's <c>sorted</c> do. Ordinal UTF-16 order differs for characters above U+FFFF.
/// </summary>
public sealed class Utf8Order : IComparer<string>
{
    /// <summary>The shared instance.</summary>
    public static readonly Utf8Order Instance = new();

    /// <summary>Compares by code points.</summary>
    public static int Compare(string? a, string? b)
    {
        if (ReferenceEquals(a, b)) return 0;
        if (a is null) return -1;
        if (b is null) return 1;
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            bool ha = ea.MoveNext(), hb = eb.MoveNext();
            if (!ha || !hb) return ha == hb ? 0 : ha ? 1 : -1;
            int c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0) return c;
        }
    }

    int IComparer<string>.Compare(string? x, string? y) => Compare(x, y);
}
