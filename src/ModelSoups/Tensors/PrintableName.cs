using System.Globalization;
using System.Text;

namespace ModelSoups.Tensors;

/// <summary>
/// A name from a file (a tensor name, a shard name) made safe to print: control characters, which could
/// be terminal escape sequences planted in a checkpoint, are shown as <c>\xNN</c> / <c>\u{NNNN}</c> instead of being
/// sent to the terminal.
/// </summary>
public static class PrintableName
{
    /// <summary>The name with every control or format character escaped (and backslashes doubled when anything was).</summary>
    public static string Of(string name)
    {
        bool clean = true;
        foreach (var ch in name)
            if (IsUnsafe(ch)) { clean = false; break; }
        if (clean) return name;
        var sb = new StringBuilder(name.Length + 8);
        foreach (var ch in name)
        {
            if (ch == '\\') sb.Append(@"\\");
            else if (!IsUnsafe(ch)) sb.Append(ch);
            else if (ch < 0x100) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)ch:x2}");
            else sb.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)ch:x4}}}");
        }
        return sb.ToString();
    }

    /// <summary>Multi-line text (a metadata value): like <see cref="Of"/> but newlines and tabs are kept.</summary>
    public static string Text(string text)
    {
        var lines = text.Split('\n');
        return string.Join('\n', lines.Select(l => string.Join('\t', l.Split('\t').Select(Of))));
    }

    static bool IsUnsafe(char ch) => char.IsControl(ch) || CharUnicodeInfo.GetUnicodeCategory(ch) == UnicodeCategory.Format;
}
