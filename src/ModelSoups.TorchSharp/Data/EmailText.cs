using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// The text a classifier reads from one raw RFC 822 email: the decoded <c>Subject</c>, a newline, then the start of
/// the body as plain text. What is kept: the subject (RFC 2047 encoded-words decoded) and the first text part of the
/// body (text/plain preferred over text/html inside multipart/alternative or mixed, nested multiparts searched in order),
/// with its Content-Transfer-Encoding (quoted-printable, base64) and charset decoded; HTML loses its tags, scripts,
/// styles and comments, entities are decoded; whitespace runs become one space. What is dropped: every other header
/// (so no routing, list or spam-filter header can give the label away), attachments and non-text parts.
/// Pure: bytes in, string out; never throws on malformed mail (what cannot be decoded is read as Latin-1).
/// </summary>
public static partial class EmailText
{
    static EmailText() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>Subject and up to <paramref name="maxBodyChars"/> characters of body text.</summary>
    public static string Extract(ReadOnlySpan<byte> raw, int maxBodyChars = 2000)
    {
        var message = Encoding.Latin1.GetString(raw); // byte-preserving: parts are re-decoded with their own charset
        var (headers, body) = Split(message);
        var subject = DecodeWords(Header(headers, "subject") ?? "");
        var text = BodyText(headers, body, depth: 0) ?? "";
        text = Whitespace().Replace(text, " ").Trim();
        if (text.Length > maxBodyChars) text = text[..maxBodyChars];
        return Whitespace().Replace(subject, " ").Trim() + "\n" + text;
    }

    /// <summary>Headers (unfolded, names lower-cased, first occurrence wins) and the body after the first empty line.</summary>
    internal static (Dictionary<string, string> Headers, string Body) Split(string message)
    {
        if (message.StartsWith('\n')) return (new Dictionary<string, string>(StringComparer.Ordinal), message[1..]);
        if (message.StartsWith("\r\n", StringComparison.Ordinal)) return (new Dictionary<string, string>(StringComparer.Ordinal), message[2..]);
        int end = message.IndexOf("\n\n", StringComparison.Ordinal);
        int crlf = message.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        int cut, skip;
        if (crlf >= 0 && (end < 0 || crlf < end)) { cut = crlf; skip = 4; }
        else if (end >= 0) { cut = end; skip = 2; }
        else { cut = message.Length; skip = 0; }
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        string? name = null;
        var value = new StringBuilder();
        void Flush()
        {
            if (name is not null && !headers.ContainsKey(name)) headers[name] = value.ToString().Trim();
            name = null;
            value.Clear();
        }
        foreach (var rawLine in message[..cut].Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length > 0 && (line[0] == ' ' || line[0] == '\t')) { if (name is not null) value.Append(' ').Append(line.Trim()); continue; }
            Flush();
            int colon = line.IndexOf(':');
            if (colon <= 0 || line.StartsWith("From ", StringComparison.Ordinal)) continue; // mbox "From " line
            name = line[..colon].Trim().ToLowerInvariant();
            value.Append(line[(colon + 1)..]);
        }
        Flush();
        return (headers, message[Math.Min(message.Length, cut + skip)..]);
    }

    static string? Header(Dictionary<string, string> headers, string name) => headers.GetValueOrDefault(name);

    /// <summary>The value of parameter <paramref name="name"/> in a header like <c>text/plain; charset="utf-8"</c>.</summary>
    internal static string? Parameter(string header, string name)
    {
        var m = Regex.Match(header, $@"(?:^|;)\s*{Regex.Escape(name)}\s*=\s*(?:""([^""]*)""|([^;\s]*))", RegexOptions.IgnoreCase);
        return m.Success ? (m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value) : null;
    }

    static string? BodyText(Dictionary<string, string> headers, string body, int depth)
    {
        var contentType = Header(headers, "content-type") ?? "text/plain";
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType.StartsWith("multipart/", StringComparison.Ordinal) && depth < 5 && Parameter(contentType, "boundary") is { Length: > 0 } boundary)
        {
            var parts = Parts(body, boundary).Select(Split).ToList();
            string? html = null;
            foreach (var (h, b) in parts)
            {
                var type = (Header(h, "content-type") ?? "text/plain").Split(';')[0].Trim().ToLowerInvariant();
                if ((Header(h, "content-disposition") ?? "").StartsWith("attachment", StringComparison.OrdinalIgnoreCase)) continue;
                if (type == "text/plain" || type.StartsWith("multipart/", StringComparison.Ordinal))
                {
                    if (BodyText(h, b, depth + 1) is { Length: > 0 } t) return t;
                }
                else if (type == "text/html") html ??= BodyText(h, b, depth + 1);
            }
            return html;
        }
        if (!mediaType.StartsWith("text/", StringComparison.Ordinal) && mediaType.Length > 0 && depth > 0) return null;
        var bytes = TransferDecode(body, Header(headers, "content-transfer-encoding"));
        var text = Charset(Parameter(contentType, "charset")).GetString(bytes);
        return mediaType == "text/html" || LooksLikeHtml(text) ? StripHtml(text) : text;
    }

    static IEnumerable<string> Parts(string body, string boundary)
    {
        var delimiter = "--" + boundary;
        var pieces = body.Split(delimiter);
        // pieces[0] is the preamble; a piece starting with "--" is the epilogue after the close delimiter.
        for (int i = 1; i < pieces.Length; i++)
        {
            if (pieces[i].StartsWith("--", StringComparison.Ordinal)) yield break;
            int lineEnd = pieces[i].IndexOf('\n'); // the rest of the delimiter line
            yield return lineEnd >= 0 ? pieces[i][(lineEnd + 1)..] : "";
        }
    }

    static byte[] TransferDecode(string body, string? encoding)
    {
        switch (encoding?.Trim().ToLowerInvariant())
        {
            case "base64":
                var compact = new StringBuilder(body.Length);
                foreach (var c in body) if (char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=') compact.Append(c);
                var s = compact.ToString().TrimEnd('=');
                s = s[..(s.Length - s.Length % 4 == 1 ? s.Length - 1 : s.Length)];
                s = s.PadRight((s.Length + 3) / 4 * 4, '=');
                try { return Convert.FromBase64String(s); }
                catch (FormatException) { return Encoding.Latin1.GetBytes(body); }
            case "quoted-printable":
                return QuotedPrintable(body, underscoreIsSpace: false);
            default:
                return Encoding.Latin1.GetBytes(body);
        }
    }

    /// <summary>RFC 2045 §6.7 quoted-printable (soft line breaks removed); RFC 2047's Q form also reads '_' as a space.</summary>
    internal static byte[] QuotedPrintable(string text, bool underscoreIsSpace)
    {
        var output = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '=' && i + 1 < text.Length)
            {
                if (text[i + 1] == '\n') { i += 1; continue; }
                if (text[i + 1] == '\r' && i + 2 < text.Length && text[i + 2] == '\n') { i += 2; continue; }
                if (i + 2 < text.Length && char.IsAsciiHexDigit(text[i + 1]) && char.IsAsciiHexDigit(text[i + 2]))
                {
                    output.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                    i += 2;
                    continue;
                }
            }
            output.Add(underscoreIsSpace && c == '_' ? (byte)' ' : c <= 0xFF ? (byte)c : (byte)'?');
        }
        return [.. output];
    }

    /// <summary>RFC 2047 encoded-words (<c>=?charset?Q|B?text?=</c>) decoded; whitespace between adjacent words dropped.</summary>
    internal static string DecodeWords(string header)
    {
        var joined = AdjacentWords().Replace(header, "$1");
        return EncodedWord().Replace(joined, m =>
        {
            var encoding = Charset(m.Groups["charset"].Value);
            var payload = m.Groups["text"].Value;
            byte[] bytes;
            if (m.Groups["kind"].Value is "B" or "b")
            {
                try { bytes = Convert.FromBase64String(payload.PadRight((payload.Length + 3) / 4 * 4, '=')); }
                catch (FormatException) { return m.Value; }
            }
            else bytes = QuotedPrintable(payload, underscoreIsSpace: true);
            return encoding.GetString(bytes);
        });
    }

    static Encoding Charset(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return Encoding.Latin1;
        var n = name.Trim().Trim('"').ToLowerInvariant();
        if (n is "us-ascii" or "ascii" or "default" or "iso-8859-1" or "latin1") return Encoding.Latin1;
        try { return Encoding.GetEncoding(n); }
        catch (ArgumentException) { return Encoding.Latin1; }
    }

    static bool LooksLikeHtml(string text) => text.Contains("<html", StringComparison.OrdinalIgnoreCase) || text.Contains("<body", StringComparison.OrdinalIgnoreCase);

    /// <summary>Text of an HTML document: scripts, styles and comments removed, tags become spaces, entities decoded.</summary>
    internal static string StripHtml(string html)
    {
        var text = HiddenBlocks().Replace(html, " ");
        text = Tags().Replace(text, " ");
        return WebUtility.HtmlDecode(text);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
    [GeneratedRegex(@"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)")]
    private static partial Regex AdjacentWords();
    [GeneratedRegex(@"=\?(?<charset>[^?\s*]+)(?:\*[^?\s]*)?\?(?<kind>[bBqQ])\?(?<text>[^?\s]*)\?=")]
    private static partial Regex EncodedWord();
    [GeneratedRegex(@"<(script|style)\b.*?</\1\s*>|<!--.*?-->", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex HiddenBlocks();
    [GeneratedRegex(@"<[^>]*>", RegexOptions.Singleline)]
    private static partial Regex Tags();
}
