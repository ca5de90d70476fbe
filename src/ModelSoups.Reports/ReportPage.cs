using System.Net;
using System.Text;
using ModelSoups.Durability;

namespace ModelSoups.Reports;

/// <summary>
/// The one page template and stylesheet of every HTML report (greedy soup, demos, Sparse Model Soups, PLeaS):
/// a self-contained page — no scripts, no external fonts or links, styles inline, plots as inline SVG — so a report
/// opens from disk anywhere and renders the same in every browser.
/// </summary>
public static class ReportPage
{
    /// <summary>
    /// The stylesheet every page carries. Numeric cells are <c>td.n</c> (right-aligned); summary rows
    /// <c>tr.summary</c>; a greedy step's decision <c>tr.accepted</c> / <c>tr.rejected</c>; a headline <c>p.big</c>;
    /// sections that align every cell but the first to the right mark themselves <c>section.pleas</c>.
    /// </summary>
    public const string Stylesheet =
        "body{font-family:sans-serif;margin:2em auto;padding:0 1em;color:#222;max-width:1100px}" +
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:4px 10px;text-align:left}" +
        "th{background:#e8eef7}td.n{text-align:right}tr.summary td{font-weight:bold}" +
        "tr.accepted td{background:#e6f4e6}tr.rejected td{background:#fbeaea}" +
        "section.pleas td{text-align:right}section.pleas td:first-child{text-align:left}" +
        ".big{font-size:1.2em}code{background:#f3f3f3;padding:1px 4px}figure{margin:1em 0}svg{max-width:100%;height:auto}";

    /// <summary>The whole page: <paramref name="title"/> as the document title and first heading, then <paramref name="body"/> (trusted HTML).</summary>
    public static string Html(string title, string body)
    {
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html>");
        sb.Append("<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(Encode(title)).AppendLine("</title>");
        sb.Append("<style>").Append(Stylesheet).AppendLine("</style></head><body>");
        sb.Append("<h1>").Append(Encode(title)).AppendLine("</h1>");
        sb.Append(body);
        if (body.Length > 0 && body[^1] != '\n') sb.AppendLine();
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }

    /// <summary>Text made safe to put between tags or in an attribute.</summary>
    public static string Encode(string text) => WebUtility.HtmlEncode(text);

    /// <summary>An SVG document as an inline <c>&lt;svg&gt;</c> element: HTML must not carry its XML declaration.</summary>
    public static string InlineSvg(string svg)
    {
        var start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return start > 0 ? svg[start..] : svg;
    }

    /// <summary>Writes a report file through <see cref="AtomicFile"/>: a reader sees the old file or the new one, never half of one.</summary>
    public static void Write(string path, string text) => AtomicFile.WriteAllText(path, text);
}
