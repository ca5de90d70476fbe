using System.Text;
using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

public class EmailTextTests
{
    static string Extract(string mail, int max = 2000) => EmailText.Extract(Encoding.Latin1.GetBytes(mail.ReplaceLineEndings("\n")), max);

    [Fact]
    public void Plain_mail_keeps_the_decoded_subject_and_the_body_and_drops_other_headers()
    {
        var mail = """
            From someone@example.com  Tue Aug  6 12:57:02 2002
            Return-Path: <a@example.com>
            Subject: =?iso-8859-1?Q?Caf=E9_news?=
             =?utf-8?B?w7xiZXIgYWxsZXM=?=
            X-Spam-Status: Yes, hits=12.3
            Content-Type: text/plain; charset=us-ascii

            Hello   there,
            see you.
            """;
        // "=?utf-8?B?w7xiZXIgYWxsZXM=?=" is base64 of UTF-8 "über alles"; adjacent encoded words join without the fold.
        Assert.Equal("Café newsüber alles\nHello there, see you.", Extract(mail));
    }

    [Fact]
    public void Multipart_alternative_prefers_text_plain_and_decodes_quoted_printable()
    {
        var mail = """
            Subject: offer
            Content-Type: multipart/alternative; boundary="XX"

            preamble
            --XX
            Content-Type: text/html

            <p>html version</p>
            --XX
            Content-Type: text/plain; charset="iso-8859-1"
            Content-Transfer-Encoding: quoted-printable

            Save 50=25 to=
            day =E0 la carte
            --XX--
            epilogue
            """;
        Assert.Equal("offer\nSave 50% today à la carte", Extract(mail));
    }

    [Fact]
    public void Html_only_part_in_base64_loses_tags_scripts_and_entities()
    {
        var html = "<html><head><style>p{color:red}</style><script>var x=1;</script></head><body><p>Buy&nbsp;now &amp; save</p><!-- hidden --></body></html>";
        var mail = "Subject: deal\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
            Convert.ToBase64String(Encoding.UTF8.GetBytes(html), Base64FormattingOptions.InsertLineBreaks) +
            "\n--b1\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\nJVBERi0=\n--b1--\n";
        // &nbsp; decodes to U+00A0, which the whitespace collapse turns into a plain space.
        Assert.Equal("deal\nBuy now & save", Extract(mail));
    }

    [Fact]
    public void Body_is_cut_to_the_limit_and_garbage_does_not_throw()
    {
        Assert.Equal("s\nabcde", Extract("Subject: s\n\nabcdefghij", max: 5));
        var garbage = new byte[300];
        new Random(3).NextBytes(garbage);
        var text = EmailText.Extract(garbage);
        Assert.Contains('\n', text);
        Assert.Equal("\nno headers", Extract("\nno headers"));
    }
}
